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


@dataclass
class Footprint:
    """What this process holds: open file descriptors (Linux), asyncio tasks
    other than the caller's, and the bytes tracemalloc traces (0 unless it is
    tracing)."""

    fds: int
    tasks: int
    memory: int

    @classmethod
    async def measure(cls) -> Footprint:
        """Let closing callbacks run, collect garbage, then count."""
        for _ in range(3):
            await asyncio.sleep(0.02)
        gc.collect()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return cls(
            len(os.listdir("/proc/self/fd")),
            len(tasks),
            tracemalloc.get_traced_memory()[0],
        )


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
