"""Timelines rendered from a real connection's histories and from demo JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rtcstate import timeline

SVG = "{http://www.w3.org/2000/svg}"


def rects(svg: str) -> list[tuple[str, str]]:
    """(fill, tooltip) of every state segment."""
    root = ET.fromstring(svg)
    out = []
    for rect in root.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None:
            out.append((rect.get("fill", ""), title.text or ""))
    return out


@pytest.mark.asyncio
async def test_renders_a_connection_with_a_lane_per_transport_and_aggregate(
    connected_pair,
) -> None:
    a, _ = connected_pair
    await a.wait_for_ice_connection_state("completed", timeout=10)
    svg = timeline.render_svg(timeline.records(a, peer="offerer"), title="t")
    segments = rects(svg)
    lanes = {tip.split(":")[0] for _, tip in segments}
    assert lanes == {
        "connectionState",
        "iceConnectionState",
        "ice#0 (mid 0)",
        "dtls#0 (mid 0)",
    }
    # coloured by state, with the cause of each change on hover
    connected = [
        tip for fill, tip in segments if tip.startswith("connectionState: connected")
    ]
    assert connected and "because dtls#0 (mid 0) -> connected" in connected[0]
    assert all(
        fill == timeline.COLOURS[tip.split(": ")[1].split()[0]]
        for fill, tip in segments
    )
    assert ">offerer<" in svg


def test_renders_demo_json_and_writes_html(tmp_path: Path) -> None:
    source = (
        Path(__file__).resolve().parent.parent / "docs" / "timelines" / "blip.jsonl"
    )
    records = timeline.load(str(source))
    svg = timeline.render_svg(records)
    tips = [tip for _, tip in rects(svg)]
    assert any(
        t.startswith("connectionState: disconnected") and "no packet for" in t
        for t in tips
    )
    notes = [r["text"] for r in records if r["type"] == "note"]
    assert all(note[:40] in svg for note in notes)
    out = tmp_path / "blip.html"
    done = subprocess.run(
        [sys.executable, "-m", "rtcstate", "timeline", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert (
        html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html
    )


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"type": "note", "t": 0, "text": "x"}) + "\nnot json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not JSON"):
        timeline.load(str(bad))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtcstate",
            "timeline",
            str(bad),
            "-o",
            str(tmp_path / "o.svg"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "not JSON" in done.stderr
