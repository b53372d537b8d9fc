"""One line that says when and where a benchmark ran, printed above its table.

from stamp import stamp  # benchmarks/ on sys.path (see the scripts)
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def stamp() -> str:
    """The date (UTC), the versions measured and the machine, in one line."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("rtcstate", "aiortc", "aioice")
    )
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit "
        f"{_commit()}; Python {platform.python_version()}, {versions}; "
        f"{os.cpu_count()} cores ({_cpu_model()}), Linux {platform.release()}"
    )


if __name__ == "__main__":
    print(stamp())
