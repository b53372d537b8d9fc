"""Leaks: many cycles of connect, data, close in one process.

Each cycle connects two rtcstate peers on this machine, sends a message over a
data channel and back, and closes both. After warm-up cycles (caches, imports,
aioice's mDNS state), it takes a baseline of open file descriptors, asyncio
tasks and tracemalloc's traced memory, runs the cycles, and prints how far each
figure ended from its baseline. A short version runs in the tests.

    python benchmarks/leaks.py [cycles]        # default 300
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass

from aiortc import RTCConfiguration

import rtcstate


@dataclass
class Figures:
    fds: int
    tasks: int
    memory: int  # bytes traced by tracemalloc

    @classmethod
    async def now(cls) -> Figures:
        # let closing callbacks run, then collect cycles
        for _ in range(3):
            await asyncio.sleep(0.02)
        gc.collect()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return cls(
            len(os.listdir("/proc/self/fd")),
            len(tasks),
            tracemalloc.get_traced_memory()[0],
        )


async def cycle() -> None:
    config = RTCConfiguration(iceServers=[])
    a, b = rtcstate.PeerConnection(config), rtcstate.PeerConnection(config)
    try:
        loop = asyncio.get_running_loop()
        echoed: asyncio.Future[str] = loop.create_future()

        @b.on("datachannel")
        def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
            channel.on("message", lambda message: channel.send(message))

        channel = a.createDataChannel("leaks")
        channel.on("open", lambda: channel.send("ping"))
        channel.on("message", lambda m: echoed.done() or echoed.set_result(m))
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        await a.wait_for_connection_state("connected", timeout=10)
        assert await asyncio.wait_for(echoed, 10) == "ping"
    finally:
        await a.close()
        await b.close()


async def run(cycles: int, warmup: int = 5) -> tuple[Figures, Figures, float]:
    """Run `warmup` then `cycles` cycles; return (baseline, end, seconds)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        for _ in range(warmup):
            await cycle()
        baseline = await Figures.now()
        began = time.perf_counter()
        for _ in range(cycles):
            await cycle()
        elapsed = time.perf_counter() - began
        return baseline, await Figures.now(), elapsed
    finally:
        if started:
            tracemalloc.stop()


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    baseline, end, elapsed = asyncio.run(run(cycles))
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
