"""Detection under load: 200 busy pairs in one process, one link cut.

PAIRS rtcstate pairs (default liveness) each carry data-channel traffic: every
pair sends RATE messages of SIZE bytes per second in each direction, at random
phases. One more rtcstate pair (the victim) and one plain aiortc pair carry the
same traffic through FaultyLinks. CUTS times, both links are cut silently, in
both directions, and restored a few seconds later.

Reported: seconds from each cut to the victim's `disconnected` (both sides),
whether the aiortc pair noticed anything, how many state changes the other
pairs made (the target is none), the process's CPU load, the messages carried,
and how late the loop ran its timers (its lag).

    python benchmarks/detection/load.py [--pairs 200] [--rate 2] [--size 256] [--cuts 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate
from rtcstate.testing import FaultyLink, negotiate

CONFIG = RTCConfiguration(iceServers=[])


async def connect(cls: Any, link: FaultyLink | None) -> tuple[Any, Any, Any, Any]:
    """A connected pair and its two open data channels."""
    a, b = cls(CONFIG), cls(CONFIG)
    channel_a = a.createDataChannel("load")
    opened: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    b.on("datachannel", lambda channel: opened.done() or opened.set_result(channel))
    await negotiate(a, b, link=link)
    channel_b = await asyncio.wait_for(opened, 30)
    for _ in range(1500):
        if channel_a.readyState == "open" and channel_b.readyState == "open":
            return a, b, channel_a, channel_b
        await asyncio.sleep(0.02)
    raise RuntimeError("a pair did not open its channel")


class Traffic:
    """RATE messages/s each way on every channel, at random phases, bounded."""

    def __init__(self, channels: list[Any], rate: float, size: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.channels = channels
        self.period = 1 / rate
        self.payload = b"x" * size
        self.received = 0
        self.lag: list[float] = []
        self.running = True
        for channel in channels:
            channel.on("message", self._count)
            due = self.loop.time() + random.uniform(0, self.period)
            self.loop.call_at(due, self._send, channel, due)

    def _count(self, message: Any) -> None:
        self.received += 1

    def _send(self, channel: Any, due: float) -> None:
        if not self.running or channel.readyState != "open":
            return
        self.lag.append(self.loop.time() - due)
        channel.send(self.payload)
        due += self.period
        self.loop.call_at(due, self._send, channel, due)


async def main(pairs: int, rate: float, size: int, cuts: int) -> None:
    changes: list[tuple[float, Any, str]] = []
    watched: dict[int, str] = {}

    def record(pc: Any, name: str) -> None:
        watched[id(pc)] = name
        for event in ("connectionstatechange", "iceconnectionstatechange"):
            pc.on(
                event,
                lambda *args, pc=pc: changes.append((time.monotonic(), pc, args)),
            )

    pcs: list[Any] = []
    channels: list[Any] = []
    links: list[FaultyLink] = []
    started = time.perf_counter()
    try:
        for start in range(0, pairs, 20):
            batch = [
                connect(rtcstate.PeerConnection, None)
                for _ in range(start, min(pairs, start + 20))
            ]
            for a, b, ca, cb in await asyncio.gather(*batch):
                pcs += [a, b]
                channels += [ca, cb]
        victim_link, plain_link = await FaultyLink().start(), await FaultyLink().start()
        links += [victim_link, plain_link]
        va, vb, vca, vcb = await connect(rtcstate.PeerConnection, victim_link)
        pa, pb, pca, pcb = await connect(RTCPeerConnection, plain_link)
        pcs += [va, vb, pa, pb]
        channels += [vca, vcb, pca, pcb]
        setup = time.perf_counter() - started
        for pc in pcs:
            record(
                pc, "victim" if pc in (va, vb) else "plain" if pc in (pa, pb) else ""
            )
        traffic = Traffic(channels, rate, size)
        await asyncio.sleep(5)  # traffic settles
        changes.clear()
        traffic.lag.clear()
        cpu, wall, received = time.process_time(), time.perf_counter(), traffic.received
        detect: list[float] = []
        for _ in range(cuts):
            await asyncio.sleep(random.uniform(2, 3))
            cut_at = time.monotonic()
            victim_link.cut()
            plain_link.cut()
            for pc in (va, vb):
                await pc.wait_for_connection_state("disconnected", timeout=10)
                detect.append(time.monotonic() - cut_at)
            await asyncio.sleep(3)
            victim_link.restore()
            plain_link.restore()
            for pc in (va, vb):
                await pc.wait_for_connection_state("connected", timeout=10)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        received = traffic.received - received
        traffic.running = False
        others = [c for c in changes if watched[id(c[1])] == ""]
        plain = [c for c in changes if watched[id(c[1])] == "plain"]
        print(
            f"load: {pairs} busy pairs + 1 rtcstate victim + 1 aiortc pair, "
            f"{rate:g} messages/s of {size} B each way on every pair, {cuts} cuts "
            f"(set-up {setup:.0f} s)"
        )
        print(
            f"  traffic: {received / wall:.0f} messages/s received, "
            f"CPU {cpu / wall * 100:.0f} % of one core, send-timer lag median "
            f"{statistics.median(traffic.lag) * 1e3:.1f} ms, "
            f"max {max(traffic.lag) * 1e3:.0f} ms"
        )
        print(
            "  victim disconnected after the cut: median "
            f"{statistics.median(detect):.2f} s (min {min(detect):.2f}, "
            f"max {max(detect):.2f}) over {len(detect)} sides"
        )
        print(f"  plain aiortc pair: {len(plain)} state changes (it reports no cut)")
        print(f"  other pairs: {len(others)} state changes during {wall:.0f} s")
    finally:
        for pc in pcs:
            await pc.close()
        for link in links:
            link.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--pairs", type=int, default=200, help="busy pairs besides the two cut"
    )
    parser.add_argument(
        "--rate", type=float, default=2.0, help="messages per second, each way"
    )
    parser.add_argument("--size", type=int, default=256, help="bytes per message")
    parser.add_argument("--cuts", type=int, default=5, help="cuts of both links")
    args = parser.parse_args()
    asyncio.run(main(args.pairs, args.rate, args.size, args.cuts))
