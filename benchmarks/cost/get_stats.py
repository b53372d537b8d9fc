"""getStats() latency with many live connections: rtcstate against plain aiortc.

Connects --pairs pairs of each kind in one process (this machine's own addresses,
liveness at its defaults), then calls `getStats()` on one connection after another
for --rounds rounds, kinds alternating, and prints the median and the 99th
percentile of one call. aiortc's report of a data-channel-only connection is empty;
rtcstate's holds a transport, its candidate pairs and their candidates.

    python benchmarks/cost/get_stats.py [--pairs 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate
from rtcstate.testing import connect

KINDS = {"aiortc": RTCPeerConnection, "rtcstate": rtcstate.PeerConnection}


async def connect_pairs(
    cls: type[RTCPeerConnection], pairs: int
) -> list[RTCPeerConnection]:
    made: list[RTCPeerConnection] = []
    for _ in range(pairs):
        a = cls(RTCConfiguration(iceServers=[]))
        b = cls(RTCConfiguration(iceServers=[]))
        a.createDataChannel("x")
        made += [a, b]
        await connect(a, b)
    return made


async def main(pairs: int, rounds: int) -> None:
    live = {name: await connect_pairs(cls, pairs) for name, cls in KINDS.items()}
    await asyncio.sleep(2)  # past the first keepalives
    times: dict[str, list[float]] = {name: [] for name in KINDS}
    entries: dict[str, int] = {}
    for _ in range(rounds):
        for name, pcs in live.items():
            for pc in pcs:
                start = time.perf_counter()
                report = await pc.getStats()
                times[name].append(time.perf_counter() - start)
                entries[name] = len(report)
    print(
        f"getStats() of one connection, {2 * pairs} live connections of each kind, "
        f"{rounds} rounds alternating"
    )
    for name, values in times.items():
        values.sort()
        p99 = values[int(0.99 * (len(values) - 1))]
        print(
            f"  {name:9} median {1e6 * statistics.median(values):7.0f} µs, "
            f"p99 {1e6 * p99:7.0f} µs ({entries[name]} stats in a report)"
        )
    ratio = statistics.median(times["rtcstate"]) / statistics.median(times["aiortc"])
    print(f"  ratio rtcstate/aiortc of medians: {ratio:.2f}")
    for pcs in live.values():
        for pc in pcs:
            await pc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--pairs", type=int, default=200, help="live pairs of each kind"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="getStats() of every connection, per kind"
    )
    args = parser.parse_args()
    asyncio.run(main(args.pairs, args.rounds))
