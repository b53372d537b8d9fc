"""Timelines rendered from a real connection's histories and from demo JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rtcstate.tools import timeline
from tests.support.timelines import SCENARIOS, flapping, lane

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
        t.startswith("connectionState: disconnected") and "no answer for" in t
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


BLIP = Path(__file__).resolve().parent.parent / "docs" / "timelines" / "blip.jsonl"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcstate", "timeline", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *says: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rtcstate timeline: ")
    for text in says:
        assert text in lines[0]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"type": "note", "t": 0, "text": "x"}) + "\nnot json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not JSON"):
        timeline.load(str(bad))
    out = tmp_path / "o.svg"
    assert_one_line_error(cli(str(bad), "-o", str(out)), "bad.jsonl:2: not JSON")
    assert list(tmp_path.iterdir()) == [bad]  # no output, not even an empty one


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("[1, 2]", "expected a JSON object, not list"),
        ('{"type": "state", "t": "soon"}', '"t" must be a number'),
        ('{"type": "state", "t": 1, "current": "new"}', '"attribute"'),
        ('{"type": "transport", "t": 1, "transport": "ice#0"}', '"current"'),
    ],
)
def test_a_bad_record_names_its_line_and_leaves_the_output_alone(
    tmp_path: Path, line: str, says: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(BLIP.read_text().splitlines()[0] + "\n\n" + line + "\n")
    out = tmp_path / "o.html"
    out.write_text("an older timeline")
    assert_one_line_error(cli(str(source), "-o", str(out)), "in.jsonl:3: ", says)
    assert out.read_text() == "an older timeline"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "o.html"]


@pytest.mark.parametrize("name", ["x.png", "x", "x.svg.txt"])
def test_an_output_neither_svg_nor_html_is_refused(tmp_path: Path, name: str) -> None:
    done = cli(str(BLIP), "-o", str(tmp_path / name))
    assert_one_line_error(done, name, ".svg or .html")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_output_folder_or_input_is_a_one_line_error(tmp_path: Path) -> None:
    done = cli(str(BLIP), "-o", str(tmp_path / "no" / "x.svg"))
    assert_one_line_error(done, "cannot write", "No such file or directory")
    done = cli(str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "x.svg"))
    assert_one_line_error(done, "cannot read", "absent.jsonl")
    done = cli("-", "-o", str(tmp_path / "x.svg"), stdin="")
    assert_one_line_error(done, "<stdin>: no state or transport changes")
    assert list(tmp_path.iterdir()) == []


def test_reads_standard_input_for_a_dash(tmp_path: Path) -> None:
    out = tmp_path / "blip.svg"
    done = cli("-", "-o", str(out), stdin=BLIP.read_text())
    assert done.returncode == 0, done.stderr
    assert rects(out.read_text()) == rects(
        timeline.render_svg(timeline.load(str(BLIP)))
    )
    assert [p.name for p in tmp_path.iterdir()] == ["blip.svg"]  # no temporary left
    bad = cli("-", "-o", str(out), stdin="{}\n{")
    assert_one_line_error(bad, "<stdin>:2: not JSON")


def hang_up() -> list[dict[str, object]]:
    return timeline.load(str(BLIP.with_name("remote-hang-up.jsonl")))


def test_the_title_is_a_visible_heading(tmp_path: Path) -> None:
    title = "rtcstate demo --hang-up-after 1 <&>"
    root = ET.fromstring(timeline.render_svg(hang_up(), title=title))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert title in texts  # drawn, not only the document's <title> (a tooltip)
    for suffix in ("svg", "html"):
        out = tmp_path / f"t.{suffix}"
        done = cli(str(BLIP), "-o", str(out), "--title", title)
        assert done.returncode == 0, done.stderr
        shown = out.read_text()
        svg = shown[shown.index("<svg") : shown.index("</svg>") + 6]
        drawn = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
        if suffix == "html":
            assert "<h1>rtcstate demo --hang-up-after 1 &lt;&amp;&gt;</h1>" in shown
            assert title not in drawn  # the page's heading, not twice
        else:
            assert title in drawn


def segments(svg: str) -> list[tuple[str, str, ET.Element | None]]:
    """(fill, tooltip, label or None) of every state segment, the label being the
    text written inside it."""
    root = ET.fromstring(svg)
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    out = []
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("class") != "segment":
            continue
        left, top = float(rect.get("x", 0)), float(rect.get("y", 0))
        right = left + float(rect.get("width", 0))
        bottom = top + float(rect.get("height", 0))
        inside = [
            label
            for label in labels
            if left <= float(label.get("x", 0)) < right
            and top < float(label.get("y", 0)) < bottom
        ]
        assert len(inside) <= 1
        out.append(
            (
                rect.get("fill", ""),
                rect.findtext(f"{SVG}title", ""),
                inside[0] if inside else None,
            )
        )
    return out


def test_labels_on_dark_fills_are_white_and_every_label_reads_well() -> None:
    assert timeline.text_colour(timeline.COLOURS["completed"]) == "#ffffff"
    assert timeline.text_colour(timeline.COLOURS["closed"]) == "#ffffff"
    assert timeline.text_colour(timeline.COLOURS["connected"]) == "#000000"
    for colour in timeline.COLOURS.values():  # WCAG AA for normal text
        assert timeline.contrast(timeline.text_colour(colour), colour) >= 4.5
    labelled = [
        (fill, label)
        for fill, _, label in segments(timeline.render_svg(hang_up()))
        if label is not None
    ]
    on_dark = {
        label.text: label.get("fill")
        for fill, label in labelled
        if fill in (timeline.COLOURS["completed"], timeline.COLOURS["closed"])
    }
    assert on_dark == {"completed": "#ffffff", "closed": "#ffffff"}
    for fill, label in labelled:
        assert timeline.contrast(label.get("fill", "#000000"), fill) >= 4.5


def lane_tips(svg: str, lane: str) -> list[str]:
    """The tooltips of one lane's segments, in order."""
    return [tip for _, tip, _ in segments(svg) if tip.startswith(lane + ":")]


def test_a_closed_connections_transports_end_closed_at_the_close() -> None:
    items = hang_up()
    closed_at = next(
        float(r["t"])
        for r in items
        if r["type"] == "state"
        and r["peer"] == "answerer"
        and r["attribute"] == "connectionState"
        and r["current"] == "closed"
    )
    # the record has no transport change at the close
    assert not [
        r
        for r in items
        if r["type"] == "transport" and r["peer"] == "answerer" and r["t"] >= closed_at
    ]
    answerer = timeline.render_svg([r for r in items if r.get("peer") != "offerer"])
    for name in ("ice#0 (mid 0)", "dtls#0 (mid 0)", "iceConnectionState"):
        tips = lane_tips(answerer, name)
        assert tips[-1].startswith(f"{name}: closed from {closed_at:.3f} s")
        assert "because close() called" in tips[-1]
        assert not any(": closed" in tip for tip in tips[:-1])
    # the offerer did not close: its ICE lane ends failed
    offerer = timeline.render_svg([r for r in items if r.get("peer") != "answerer"])
    assert lane_tips(offerer, "ice#0 (mid 0)")[-1].startswith("ice#0 (mid 0): failed")


def text_boxes(svg: str, kind: str) -> list[tuple[str, float, float, float]]:
    """(text, left, right, baseline) of each text of class ``kind``, its width
    estimated as the renderer does (a browser measures them in test_browser)."""
    out = []
    for text in ET.fromstring(svg).iter(f"{SVG}text"):
        if text.get("class") != kind:
            continue
        words = text.text or ""
        width = timeline.text_width(words, float(text.get("font-size", 12)))
        x = float(text.get("x", 0))
        left = x - width if text.get("text-anchor") == "end" else x
        out.append((words, left, left + width, float(text.get("y", 0))))
    return out


def overlapping(boxes: list[tuple[str, float, float, float]]) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if abs(a[3] - b[3]) < 12 and a[1] < b[2] and b[1] < a[2]
    ]


def test_note_labels_do_not_overlap() -> None:
    blip = timeline.load(str(BLIP))
    svg = timeline.render_svg(blip)
    notes = text_boxes(svg, "note")
    assert [n[0] for n in notes] == [r["text"] for r in blip if r["type"] == "note"]
    assert overlapping(notes) == []
    # "link restored" and "done: ..." 2 s apart, near the right edge
    restored, done = notes[1], notes[2]
    assert restored[0] == "link restored" and done[0].startswith("done:")
    assert restored[3] != done[3] or done[1] > restored[2] or restored[1] > done[2]
    # many notes at the same moment, and at the end, each in its own place
    crowd = [
        *blip,
        *({"type": "note", "t": 3.0, "text": f"note {n} at 3 s"} for n in range(4)),
        *({"type": "note", "t": 7.07, "text": f"late note {n}"} for n in range(3)),
    ]
    notes = text_boxes(timeline.render_svg(crowd), "note")
    assert len(notes) == 10 and overlapping(notes) == []
    assert all(left >= 0 and right <= 1000 for _, left, right, _ in notes)


def callouts(svg: str) -> list[tuple[str, str, float]]:
    """(text, tooltip, x of its line) of each label written below a lane."""
    root = ET.fromstring(svg)
    lines = [float(line.get("x1", 0)) for line in root.iter(f"{SVG}line")]
    out = []
    for text in root.iter(f"{SVG}text"):
        if text.get("class") == "callout":
            x = float(text.get("x", 0))
            beside = min(lines, key=lambda line: abs(line - x))  # 3 px away
            out.append((text.text or "", text.findtext(f"{SVG}title", ""), beside))
    return out


def test_a_half_second_segment_is_named_below_its_lane() -> None:
    items = [
        *lane(
            "connectionState",
            (0.02, "connecting"),
            (0.05, "connected"),
            (5.0, "disconnected"),
            (5.5, "connected"),
        ),
        {"type": "note", "t": 17.5, "text": "done"},
    ]
    svg = timeline.render_svg(items)
    tips = {tip.split("\n")[0]: (fill, label) for fill, tip, label in segments(svg)}
    blip = tips["connectionState: disconnected from 5.000 s to 5.500 s"]
    assert blip[1] is None  # 23 px: too short for its name inside
    rect = next(
        r
        for r in ET.fromstring(svg).iter(f"{SVG}rect")
        if r.findtext(f"{SVG}title", "").startswith("connectionState: disconnected")
    )
    left = float(rect.get("x", 0))
    right = left + float(rect.get("width", 0))
    named = [c for c in callouts(svg) if "disconnected from 5.000 s" in c[1]]
    assert len(named) == 1
    text, _, line = named[0]
    assert text == "disconnected" and left <= line <= right
    # the long ones are named inside
    assert tips["connectionState: connected from 5.500 s to 18.375 s"][1] is not None


@pytest.mark.parametrize("name", [*SCENARIOS, "flapping"])
def test_every_segment_is_named_and_no_two_labels_overlap(name: str) -> None:
    items = (
        flapping()
        if name == "flapping"
        else timeline.load(str(BLIP.with_name(f"{name}.jsonl")))
    )
    svg = timeline.render_svg(items, title=name)
    below = callouts(svg)
    for _, tip, label in segments(svg):
        state = tip.split(": ", 1)[1].split()[0]
        if label is not None:
            assert label.text == state
        else:
            assert any(tip in c_tip and state in text for text, c_tip, _ in below), tip
    written = [
        *text_boxes(svg, "label"),
        *text_boxes(svg, "callout"),
        *text_boxes(svg, "note"),
    ]
    assert overlapping(written) == []
    width = float(ET.fromstring(svg).get("width", 0))
    assert all(left >= 0 and right <= width for _, left, right, _ in written)
    for rect in ET.fromstring(svg).iter(f"{SVG}rect"):  # a name inside ends inside
        right = float(rect.get("x", 0)) + float(rect.get("width", 0))
        mine = [
            box
            for box in text_boxes(svg, "label")
            if float(rect.get("x", 0)) <= box[1] < right
            and float(rect.get("y", 0)) < box[3] < float(rect.get("y", 0)) + 18
        ]
        assert all(box[2] <= right for box in mine)
    if name == "flapping":  # 19 short segments in a row: the first, the last
        assert "disconnected → … 17 more … → disconnected" in [t for t, _, _ in below]


def table(html: str) -> list[list[str]]:
    """The rows of the table of causes, as the text of their cells."""
    start = html.index("<table>")
    root = ET.fromstring(html[start : html.index("</table>", start) + 8])
    return [
        ["".join(cell.itertext()) for cell in row]
        for row in root.iter("tr")
        if row.find("td") is not None
    ]


def test_the_table_of_causes_shows_each_cause_with_what_it_changed() -> None:
    items = hang_up()
    rows = table(timeline.render_causes(items))

    def at(record: dict[str, object]) -> str:
        return f"{record['t']:.3f} s"

    def find(**fields: object) -> dict[str, object]:
        return next(r for r in items if all(r.get(k) == v for k, v in fields.items()))

    note = find(type="note", text="the answerer calls close()")
    assert [at(note), "", "the answerer calls close()"] in rows  # the notes
    close = find(type="state", peer="answerer", current="closed")
    assert [
        at(close),
        "answerer",
        "close() called",
        "iceConnectionState → closed, connectionState → closed, "
        "every transport → closed",
    ] in rows
    cut = find(type="transport", peer="offerer", current="disconnected")
    assert [
        at(cut),
        "offerer",
        f"ice#0 (mid 0) → disconnected: {cut['detail']}",
        "iceConnectionState → disconnected, connectionState → disconnected",
    ] in rows
    # a transport change that moved neither state
    notify = find(type="transport", peer="offerer", kind="dtls", current="closed")
    assert [
        at(notify),
        "offerer",
        "dtls#0 (mid 0) → closed: closed by the remote",
        "—",
    ] in rows
    # every change of either state is in the table, once
    states = [r for r in items if r["type"] == "state"]
    written = [c for row in rows if len(row) == 4 for c in row[3].split(", ")]
    assert len([c for c in written if "State →" in c]) == len(states)
    # the HTML page shows it under the picture
    html = timeline.render_html(items)
    assert html.index("</svg>") < html.index("<table>")
    assert table(html) == rows


def test_the_docs_show_the_timelines_this_renderer_draws() -> None:
    """docs/make_timelines.py --render rewrites them after a change here."""
    spec = importlib.util.spec_from_file_location(
        "make_timelines", BLIP.parent.parent / "make_timelines.py"
    )
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    assert sorted(make.SCENARIOS) == sorted(SCENARIOS)
    page = (BLIP.parent.parent / "timelines.md").read_text()
    for name, args in make.SCENARIOS.items():
        svg, causes = make.rendered(name, args)
        assert (BLIP.parent / f"{name}.svg").read_text() == svg, name
        assert (BLIP.parent / f"{name}-causes.html").read_text() == causes, name
        # drawn in the page (hover works, nothing scaled), not as an <img>
        assert f'--8<-- "timelines/{name}.svg"' in page
        assert f'--8<-- "timelines/{name}-causes.html"' in page
    assert "](timelines/" not in page


# --- the RTT lane and the selected pair's changes ------------------------------

RTT_RECORDS = [
    {
        "type": "transport",
        "t": 0.0,
        "peer": "offerer",
        "kind": "ice",
        "transport": "ice#0 (mid 0)",
        "previous": "new",
        "current": "checking",
    },
    {
        "type": "pair",
        "t": 0.5,
        "peer": "offerer",
        "transport": "ice#0 (mid 0)",
        "rtt": None,
        "local": "host 10.0.0.1:5000/udp",
        "remote": "host 10.0.0.2:6000/udp",
    },
    {
        "type": "rtt",
        "t": 1.0,
        "peer": "offerer",
        "transport": "ice#0 (mid 0)",
        "rtt": 0.01,
    },
    {
        "type": "rtt",
        "t": 2.0,
        "peer": "offerer",
        "transport": "ice#0 (mid 0)",
        "rtt": 0.1,
    },
    {
        "type": "rtt",
        "t": 3.0,
        "peer": "offerer",
        "transport": "ice#0 (mid 0)",
        "rtt": 0.05,
    },
    {
        "type": "pair",
        "t": 3.5,
        "peer": "offerer",
        "transport": "ice#0 (mid 0)",
        "rtt": 0.05,
        "local": "host [::1]:5001/udp",
        "remote": "host [::1]:6001/udp",
    },
    {"type": "note", "t": 4.0, "text": "done"},
]


def _by_class(svg: str, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter(f"{SVG}{tag}") if e.get("class") == cls]


def test_rtt_lane_plots_each_sample_and_marks_each_pair_change() -> None:
    svg = timeline.render_svg(RTT_RECORDS, title="t", width=1000)
    assert ">ice#0 (mid 0) RTT<" in svg
    (line,) = _by_class(svg, "polyline", "rtt")
    points = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
    assert len(points) == 3
    xs, ys = zip(*points)
    assert xs[0] < xs[1] < xs[2]
    # scaled to the largest: 0.1 s at the top, 0.05 s halfway, 0.01 s near the floor
    (lane,) = _by_class(svg, "rect", "rtt-lane")
    top, height = float(lane.get("y", 0)), float(lane.get("height", 0))
    assert ys[1] == pytest.approx(top + 3)
    assert ys[2] == pytest.approx(top + 3 + (height - 6) / 2, abs=0.1)
    assert ys[0] == pytest.approx(top + 3 + 0.9 * (height - 6), abs=0.1)
    title = line.find(f"{SVG}title")
    assert title is not None and title.text == (
        "ice#0 (mid 0): RTT 10.0 to 100.0 ms, median 50.0 ms, 3 samples"
    )
    (peak,) = _by_class(svg, "text", "rtt-max")
    assert (peak.text or "").startswith("max 100.0 ms")
    marks = _by_class(svg, "path", "pair-change")
    tips = [m.find(f"{SVG}title").text for m in marks]  # type: ignore[union-attr]
    assert tips == [
        "ice#0 (mid 0): selected pair host 10.0.0.1:5000/udp -> "
        "host 10.0.0.2:6000/udp at 0.500 s",
        "ice#0 (mid 0): selected pair host [::1]:5001/udp -> host [::1]:6001/udp "
        "at 3.500 s",
    ]
    # the marks stand at their times on the same axis as the samples
    at = [float(m.get("d", "M0").split(",")[0][1:]) for m in marks]
    assert at[0] < xs[0] < xs[2] < at[1]
    assert (at[1] - xs[2]) / (xs[2] - xs[1]) == pytest.approx(0.5, abs=0.02)


def test_without_rtt_records_there_is_no_rtt_lane_and_old_files_still_load() -> None:
    blip = Path(__file__).resolve().parent.parent / "docs" / "timelines" / "blip.jsonl"
    items = timeline.load(str(blip))
    assert not any(r["type"] in ("rtt", "pair") for r in items)
    svg = timeline.render_svg(items)
    assert "rtt-lane" not in svg and "pair-change" not in svg


def test_the_table_of_causes_lists_the_pair_changes() -> None:
    table = timeline.render_causes(RTT_RECORDS)
    assert (
        "ice#0 (mid 0): selected pair host 10.0.0.1:5000/udp -&gt; "
        "host 10.0.0.2:6000/udp" in table
    )
    assert table.count("selected pair") == 2


def test_load_checks_rtt_records(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"type": "rtt", "t": 1, "transport": "ice#0"}) + "\n")
    with pytest.raises(ValueError, match=r'bad\.jsonl:1: an "rtt" record needs "rtt"'):
        timeline.load(str(bad))
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in RTT_RECORDS) + "\n")
    assert timeline.load(str(good)) == RTT_RECORDS


def test_records_takes_selections_and_round_trips() -> None:
    import types

    from rtcstate import Candidate, SelectedCandidatePair

    local = Candidate("host", "10.0.0.1", 5000, "udp")
    remote = Candidate("relay", "10.0.0.9", 7000, "udp")
    pc = types.SimpleNamespace(state_history=[], transport_history=[])
    chosen = SelectedCandidatePair("ice#0 (mid 0)", local, remote, None, 10.5)
    readings = [
        SelectedCandidatePair("ice#0 (mid 0)", local, remote, rtt, t)
        for rtt, t in ((None, 11.0), (0.02, 12.0), (0.03, 13.0))
    ]
    out = timeline.records(
        pc,  # type: ignore[arg-type]
        "a",
        start=10.0,
        selections=[chosen],
        round_trips=[None, *readings],
    )
    assert out == [
        {
            "type": "pair",
            "t": 0.5,
            "peer": "a",
            "transport": "ice#0 (mid 0)",
            "rtt": None,
            "local": "host 10.0.0.1:5000/udp",
            "remote": "relay 10.0.0.9:7000/udp",
        },
        {
            "type": "rtt",
            "t": 2.0,
            "peer": "a",
            "transport": "ice#0 (mid 0)",
            "rtt": 0.02,
        },
        {
            "type": "rtt",
            "t": 3.0,
            "peer": "a",
            "transport": "ice#0 (mid 0)",
            "rtt": 0.03,
        },
    ]
