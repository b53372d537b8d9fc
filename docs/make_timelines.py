"""Record the demo's scenarios and render their timelines for the docs.

python docs/make_timelines.py           # about 20 s: records docs/timelines/*.jsonl
                                        # and renders *.svg and *-causes.html
python docs/make_timelines.py --render  # renders again from the recorded *.jsonl

docs/timelines.md includes each SVG and its table of causes in the page itself
(pymdownx.snippets), so that they show at their own size, hover works, and the
causes can be read without it.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rtcstate.tools import timeline

HERE = Path(__file__).resolve().parent / "timelines"
#: the width of the docs' content column on a page without a table of contents
WIDTH = 920
SCENARIOS = {
    "connect": ["--duration", "0.5"],
    "blip": ["--cut-after", "1", "--cut-for", "4", "--duration", "7"],
    "permanent-cut": ["--cut-after", "1", "--cut-for", "30", "--duration", "17.5"],
    "remote-hang-up": ["--hang-up-after", "1", "--duration", "17.5"],
    "recovered-move": ["--move-after", "1", "--recover", "--duration", "4.5"],
}


def record(name: str, args: list[str]) -> str:
    jsonl = HERE / f"{name}.jsonl"
    with jsonl.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "rtcstate", "demo", "--json", *args],
            stdout=out,
            check=True,
            timeout=120,
        )
    return name


def rendered(name: str, args: list[str]) -> tuple[str, str]:
    """The SVG and the table of causes of a recorded scenario."""
    items = timeline.load(str(HERE / f"{name}.jsonl"))
    title = f"rtcstate demo {' '.join(args)}"
    return timeline.render_svg(items, title, width=WIDTH), timeline.render_causes(items)


def render(name: str, args: list[str]) -> None:
    svg, causes = rendered(name, args)
    (HERE / f"{name}.svg").write_text(svg, encoding="utf-8")
    (HERE / f"{name}-causes.html").write_text(causes, encoding="utf-8")
    print("wrote", HERE / f"{name}.svg", "and", HERE / f"{name}-causes.html")


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    if "--render" not in sys.argv[1:]:
        with ThreadPoolExecutor(len(SCENARIOS)) as pool:
            for name in pool.map(lambda item: record(*item), SCENARIOS.items()):
                print("recorded", HERE / f"{name}.jsonl")
    for name, args in SCENARIOS.items():
        render(name, args)
