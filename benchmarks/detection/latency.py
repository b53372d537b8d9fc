"""Event latency: from a transport state change to the start of its handlers,
with many live connections in the process.

LIVE connections (LIVE/2 rtcstate pairs, default liveness) sit idle, sending
their keepalives. FLAPPERS more rtcstate pairs talk through FaultyLinks with
short liveness timers; each link is cut and restored over and over, so every
side's ICE transport goes connected -> disconnected -> connected. Every such
transport change (the moment rtcstate sees it: ``TransportChange.time``, on the
loop's clock) is timed to the start of a sync handler and of an async handler
of ``iceconnectionstatechange`` and ``connectionstatechange``.

Plain aiortc has no counterpart: it reports none of these changes.

    python benchmarks/detection/latency.py [--live 200] [--flappers 8] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import time
from typing import Any

from aiortc import RTCConfiguration

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, negotiate

CONFIG = RTCConfiguration(iceServers=[])


async def wait_for(pc: rtcstate.PeerConnection, state: str, timeout: float) -> None:
    await pc.wait_for_connection_state(state, timeout=timeout)


async def pair(
    link: FaultyLink | None, liveness: rtcstate.LivenessConfig
) -> tuple[rtcstate.PeerConnection, rtcstate.PeerConnection]:
    a = rtcstate.PeerConnection(CONFIG, liveness=liveness)
    b = rtcstate.PeerConnection(CONFIG, liveness=liveness)
    a.createDataChannel("x")
    await negotiate(a, b, link=link)
    await wait_for(a, "connected", 30)
    await wait_for(b, "connected", 30)
    return a, b


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(live: int, flappers: int, seconds: float) -> None:
    sync_ms: list[float] = []
    async_ms: list[float] = []
    origin: dict[int, float] = {}

    def instrument(pc: rtcstate.PeerConnection) -> None:
        key = id(pc)

        @pc.on("transportstatechange")
        def seen(change: rtcstate.TransportChange) -> None:
            origin[key] = change.time  # fires before the aggregate events

        for event in ("iceconnectionstatechange", "connectionstatechange"):

            @pc.on(event)
            def sync_handler(change: rtcstate.StateChange) -> None:
                sync_ms.append((time.monotonic() - origin[key]) * 1e3)

            @pc.on(event)
            async def async_handler(change: rtcstate.StateChange) -> None:
                async_ms.append((time.monotonic() - origin[key]) * 1e3)

    pcs: list[rtcstate.PeerConnection] = []
    links: list[FaultyLink] = []
    try:
        for _ in range(live // 2):
            pcs += await pair(None, rtcstate.LivenessConfig())
        fast = dataclasses.replace(FAST_LIVENESS, failed_timeout=30)
        flapping = []
        for _ in range(flappers):
            link = await FaultyLink().start()
            links.append(link)
            a, b = await pair(link, fast)
            pcs += [a, b]
            instrument(a)
            instrument(b)
            flapping.append((link, a, b))

        async def flap(link: FaultyLink, a: Any, b: Any, seed: int) -> int:
            rng = random.Random(seed)
            end = time.monotonic() + seconds
            flaps = 0
            while time.monotonic() < end and flaps < 10_000:  # bounded
                await asyncio.sleep(rng.uniform(0.2, 0.6))
                link.cut()
                await wait_for(a, "disconnected", 5)
                await wait_for(b, "disconnected", 5)
                link.restore()
                await wait_for(a, "connected", 5)
                await wait_for(b, "connected", 5)
                flaps += 1
            return flaps

        sync_ms.clear()
        async_ms.clear()
        flaps = await asyncio.gather(
            *(flap(link, a, b, seed) for seed, (link, a, b) in enumerate(flapping))
        )
    finally:
        for pc in pcs:
            await pc.close()
        for link in links:
            link.close()
    print(
        f"latency: {live} live connections, {flappers} flapping pairs, "
        f"{sum(flaps)} flaps in {seconds:g} s"
    )
    for name, values in (("sync", sync_ms), ("async", async_ms)):
        print(
            f"  {name:5} handler: {len(values)} events, median "
            f"{statistics.median(values):.3f} ms, "
            f"p99 {percentile(values, 0.99):.3f} ms, max {max(values):.3f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--live", type=int, default=200, help="idle connections (LIVE/2 pairs)"
    )
    parser.add_argument(
        "--flappers", type=int, default=8, help="pairs whose links flap"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="how long the links flap"
    )
    args = parser.parse_args()
    asyncio.run(main(args.live, args.flappers, args.seconds))
