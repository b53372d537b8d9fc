"""Timelines as a browser draws them (Debian's chromium, headless, driven by
Playwright): what the renderer estimates, measured in the fonts a browser has."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rtcstate.tools import timeline
from tests.support.timelines import SCENARIOS, flapping

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="no playwright here")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium here (Debian package: chromium)"
)
TIMELINES = Path(__file__).resolve().parent.parent / "docs" / "timelines"

# every text's box and every segment's, in the picture's coordinates
MEASURE = """() => [
  ...document.querySelectorAll('svg text, svg rect.segment')
].map(e => {
    const box = e.getBBox();
    return {tag: e.tagName, cls: e.getAttribute('class'), text: e.textContent,
            x: box.x, y: box.y, w: box.width, h: box.height};
})"""


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def overlap(a: dict[str, Any], b: dict[str, Any], slack: float = 0.5) -> bool:
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


@pytest.mark.parametrize("name", [*SCENARIOS, "flapping"])
def test_no_text_overlaps_another_and_names_fit_their_segments(
    page: Any, name: str
) -> None:
    items = (
        flapping()
        if name == "flapping"
        else timeline.load(str(TIMELINES / f"{name}.jsonl"))
    )
    svg = timeline.render_svg(items, title=f"rtcstate demo ({name})")
    page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
    boxes = page.evaluate(MEASURE)
    texts = [b for b in boxes if b["tag"] == "text" and b["text"].strip()]
    segments = [b for b in boxes if b["tag"] == "rect"]
    assert len(texts) > 20 and segments
    clashes = [
        (a["text"][:30], b["text"][:30])
        for i, a in enumerate(texts)
        for b in texts[i + 1 :]
        if overlap(a, b)
    ]
    assert clashes == []
    width = float(svg.split('width="', 1)[1].split('"', 1)[0])
    assert all(t["x"] >= 0 and t["x"] + t["w"] <= width for t in texts)
    for label in (t for t in texts if t["cls"] == "label"):
        home = [s for s in segments if overlap(label, s)]
        assert len(home) == 1, label["text"]  # on one segment, within it
        assert home[0]["x"] <= label["x"]
        assert label["x"] + label["w"] <= home[0]["x"] + home[0]["w"]
    # the names below the lanes cover no segment
    for callout in (t for t in texts if t["cls"] == "callout"):
        assert not [s for s in segments if overlap(callout, s)], callout["text"]
