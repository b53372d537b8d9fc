"""Record the demo's four scenarios and render their timelines for the docs.

python docs/make_timelines.py      # about 20 s; writes docs/timelines/*.svg
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent / "timelines"
SCENARIOS = {
    "connect": ["--duration", "0.5"],
    "blip": ["--cut-after", "1", "--cut-for", "4", "--duration", "7"],
    "permanent-cut": ["--cut-after", "1", "--cut-for", "30", "--duration", "17.5"],
    "remote-hang-up": ["--hang-up-after", "1", "--duration", "17.5"],
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
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rtcstate",
            "timeline",
            str(jsonl),
            "-o",
            str(HERE / f"{name}.svg"),
            "--title",
            f"rtcstate demo {' '.join(args)}",
        ],
        check=True,
    )
    return name


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        for name in pool.map(lambda item: record(*item), SCENARIOS.items()):
            print("wrote", HERE / f"{name}.svg")
