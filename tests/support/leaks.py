"""What a process holds, and rtcstate's connect-and-close cycles measured
with it (`tests/test_leaks.py` runs them short, `benchmarks/reliability/leaks.py`
at length; `tests/test_soak.py` compares footprints around a soak)."""

from __future__ import annotations

import asyncio
import gc
import os
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiortc import RTCConfiguration

from rtcstate import PeerConnection
from rtcstate.testing import connect

__all__ = ["CycleReport", "Footprint", "connect_close_cycle", "connect_close_cycles"]


@dataclass(repr=False)
class Footprint:
    """What this process holds: open file descriptors (Linux), asyncio tasks
    other than the caller's, and the bytes tracemalloc traces (0 unless it is
    tracing)."""

    fds: int
    tasks: int
    memory: int
    files: frozenset[str] = frozenset()
    """what the descriptors point to (`socket:[inode]`, a path, ...): unlike
    their numbers, which a new file takes again, these name one file each"""

    @classmethod
    async def measure(cls) -> Footprint:
        """Let closing callbacks run, collect garbage, then count."""
        for _ in range(3):
            await asyncio.sleep(0.02)
        gc.collect()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        fds = os.listdir("/proc/self/fd")
        files = set()
        for fd in fds:
            try:
                files.add(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # closed meanwhile (the listing's own descriptor)
                continue
        return cls(
            len(fds),
            len(tasks),
            tracemalloc.get_traced_memory()[0],
            frozenset(files),
        )

    def __repr__(self) -> str:
        return f"Footprint(fds={self.fds}, tasks={self.tasks}, memory={self.memory})"

    def opened_since(self, earlier: Footprint) -> set[str]:
        """Files open now that were not open at `earlier`. Other work in the
        process (a test before, in the same worker) may close its own files
        meanwhile: a count would hide a leak behind them, this does not."""
        return set(self.files - earlier.files)


class CycleReport(NamedTuple):
    """The `Footprint` before and after
    `connect_close_cycles`, and how long the
    cycles took."""

    baseline: Footprint
    end: Footprint
    seconds: float


async def connect_close_cycle() -> None:
    """Connect two rtcstate peers on this machine, echo a data-channel message,
    close both."""
    config = RTCConfiguration(iceServers=[])
    a, b = PeerConnection(config), PeerConnection(config)
    try:
        loop = asyncio.get_running_loop()
        echoed: asyncio.Future[str] = loop.create_future()

        @b.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            channel.on("message", lambda message: channel.send(message))

        def on_message(message: str) -> None:
            if not echoed.done():
                echoed.set_result(message)

        channel = a.createDataChannel("leaks")
        channel.on("open", lambda: channel.send("ping"))
        channel.on("message", on_message)
        await connect(a, b)
        if await asyncio.wait_for(echoed, 10) != "ping":
            raise AssertionError("the echo was not the message sent")
    finally:
        await a.close()
        await b.close()


async def connect_close_cycles(cycles: int, warmup: int = 5) -> CycleReport:
    """Run `warmup` then `cycles`
    `connect_close_cycle`; the
    `Footprint` after the warm-up (caches, imports,
    aioice's mDNS state) and at the end. Traces memory meanwhile, unless tracemalloc
    already does."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        for _ in range(warmup):
            await connect_close_cycle()
        baseline = await Footprint.measure()
        began = time.perf_counter()
        for _ in range(cycles):
            await connect_close_cycle()
        elapsed = time.perf_counter() - began
        return CycleReport(baseline, await Footprint.measure(), elapsed)
    finally:
        if started:
            tracemalloc.stop()
