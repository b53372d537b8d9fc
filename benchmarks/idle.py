"""Idle cost: CPU per connection-second, rtcstate against plain aiortc.

Connects N pairs of one kind in this process, lets them settle, then measures
the process's CPU time over a window in which nothing happens but keepalives
and consent checks. Kinds alternate (A/B) over ROUNDS rounds; the medians and
their ratio are printed, with the min-max spread as the machine's noise.
"Connection" is one peer connection (a pair is two).

    python benchmarks/idle.py [pairs] [seconds] [rounds]     # default 50 15 3
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time

from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate


async def connect(cls: type[RTCPeerConnection]) -> list[RTCPeerConnection]:
    config = RTCConfiguration(iceServers=[])
    a, b = cls(config), cls(config)
    a.createDataChannel("idle")
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    for _ in range(500):
        if a.connectionState == "connected" and b.connectionState == "connected":
            return [a, b]
        await asyncio.sleep(0.02)
    raise RuntimeError("a pair did not connect")


async def measure(cls: type[RTCPeerConnection], pairs: int, seconds: float) -> float:
    """CPU µs per connection-second while `pairs` pairs idle for `seconds`."""
    pcs: list[RTCPeerConnection] = []
    try:
        for _ in range(pairs):
            pcs += await connect(cls)
        await asyncio.sleep(6)  # past DTLS/SCTP set-up and the first keepalives
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return cpu / (len(pcs) * wall) * 1e6
    finally:
        for pc in pcs:
            await pc.close()


async def main(pairs: int, seconds: float, rounds: int) -> None:
    kinds = {"aiortc": RTCPeerConnection, "rtcstate": rtcstate.PeerConnection}
    figures: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, cls in kinds.items():
            figures[name].append(await measure(cls, pairs, seconds))
    print(f"idle: {pairs} pairs, {seconds:g} s windows, {rounds} rounds alternating")
    for name, values in figures.items():
        print(
            f"  {name:9} median {statistics.median(values):6.0f} µs per "
            f"connection-second (min {min(values):.0f}, max {max(values):.0f})"
        )
    ratio = statistics.median(figures["rtcstate"]) / statistics.median(
        figures["aiortc"]
    )
    print(f"  ratio rtcstate/aiortc of medians: {ratio:.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  max RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    asyncio.run(
        main(
            int(args[0]) if args else 50,
            args[1] if len(args) > 1 else 15.0,
            int(args[2]) if len(args) > 2 else 3,
        )
    )
