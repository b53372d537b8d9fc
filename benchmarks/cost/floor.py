"""What this machine charges asyncio, with no WebRTC at all: the inputs of the
cost model in docs/benchmarks.md.

1. A loop wake-up: N timers each firing once per second, either at their own
   moments (N wake-ups/s) or on shared grid points (a few wake-ups/s). The CPU
   per callback tells what one wake-up costs.
2. A datagram: N UDP sockets on 127.0.0.1, in pairs, each sending one request
   per second that its partner answers (all sent from one timer, so wake-ups
   are shared). The CPU per datagram sent or received is the floor under any
   keepalive scheme.

Each is measured over a window of --seconds; N is --count.

    python benchmarks/cost/floor.py [--count 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stamp import stamp


async def timers(count: int, seconds: float, grid: float | None) -> tuple[float, float]:
    """CPU µs per callback and wake-ups per second."""
    loop = asyncio.get_running_loop()
    fired = 0
    stop = loop.time() + 1 + seconds

    def tick() -> None:
        nonlocal fired
        fired += 1
        now = loop.time()
        if now > stop:
            return
        if grid is None:
            loop.call_later(random.uniform(0.5, 1.5), tick)  # about 1/s, own moments
        else:
            loop.call_at((now // grid + 1) * grid, tick)

    for _ in range(count):
        loop.call_later(random.random(), tick)
    await asyncio.sleep(1)
    before, cpu = fired, time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    await asyncio.sleep(1.6)  # the timers end
    calls = fired - before
    return cpu / calls * 1e6, calls / seconds if grid is None else 1 / grid


class Echo(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data[:1] == b"q":  # answer requests, not answers
            self.transport.sendto(b"a" + data[1:], addr)


async def datagrams(count: int, seconds: float) -> float:
    """CPU µs per datagram sent or received."""
    loop = asyncio.get_running_loop()
    sockets = []
    for _ in range(count):
        transport, _ = await loop.create_datagram_endpoint(
            Echo, local_addr=("127.0.0.1", 0)
        )
        sockets.append(transport)
    pairs = list(zip(sockets[::2], sockets[1::2], strict=True))
    payload = b"q" * 99
    try:
        stop = loop.time() + 2 + seconds

        def tick() -> None:
            for a, b in pairs:
                a.sendto(payload, b.get_extra_info("sockname"))
                b.sendto(payload, a.get_extra_info("sockname"))
            if loop.time() < stop:
                loop.call_at(loop.time() // 1 + 1, tick)

        tick()
        await asyncio.sleep(2)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        # each socket sends one request and one answer, and receives both
        return cpu / (count * 4 * wall) * 1e6
    finally:
        for transport in sockets:
            transport.close()


async def main(count: int, seconds: float) -> None:
    own, own_rate = await timers(count, seconds, None)
    shared, shared_rate = await timers(count, seconds, 0.1)
    per_datagram = await datagrams(count, seconds)
    print(stamp())
    print(f"floor: {count} timers / sockets, {seconds:g} s windows")
    print(
        f"  timer callback at its own moment ({own_rate:.0f} wake-ups/s): "
        f"{own:.0f} µs CPU each"
    )
    print(
        f"  timer callback on a shared 0.1 s grid ({shared_rate:.0f} wake-ups/s): "
        f"{shared:.0f} µs CPU each"
    )
    print(f"  UDP datagram sent or received through asyncio: {per_datagram:.0f} µs CPU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--count", type=int, default=200, help="timers, then UDP sockets (N)"
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of each window"
    )
    args = parser.parse_args()
    asyncio.run(main(args.count, args.seconds))
