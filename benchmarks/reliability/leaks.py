"""Leaks: many cycles of connect, data, close in one process.

Each cycle connects two rtcstate peers on this machine, sends a message over a
data channel and back, and closes both. After warm-up cycles (caches, imports,
aioice's mDNS state), it takes a baseline of open file descriptors, asyncio
tasks and tracemalloc's traced memory, runs the cycles, and prints how far each
figure ended from its baseline. The cycles are
``tests.support.leaks.connect_close_cycles``; a short run is in the tests
(tests/test_leaks.py).

    python benchmarks/reliability/leaks.py [--cycles 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

# rtcstate's own leak cycles live with its tests (tests/support/leaks.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.leaks import connect_close_cycles


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--cycles", type=int, default=300, help="cycles of connect, data, close"
    )
    cycles = parser.parse_args().cycles
    baseline, end, elapsed = asyncio.run(connect_close_cycles(cycles))
    print(f"{cycles} cycles of connect, data, close in {elapsed:.0f} s")
    print(f"  open fds:      {baseline.fds} -> {end.fds} ({end.fds - baseline.fds:+d})")
    print(
        f"  asyncio tasks: {baseline.tasks} -> {end.tasks} "
        f"({end.tasks - baseline.tasks:+d})"
    )
    growth = end.memory - baseline.memory
    print(
        f"  traced memory: {baseline.memory / 1e6:.2f} MB -> {end.memory / 1e6:.2f} MB "
        f"({growth / 1e3:+.0f} kB, {growth / cycles:+.0f} B per cycle)"
    )


if __name__ == "__main__":
    main()
