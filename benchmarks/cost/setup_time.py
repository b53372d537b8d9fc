"""Time from applying the answer to connectionState "connected": rtcstate vs aiortc.

Runs the two kinds alternately (A/B) in one process over this machine's own
addresses and prints medians, min-max and the ratio of medians.

    python benchmarks/cost/setup_time.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate


async def once(cls: type[RTCPeerConnection]) -> float:
    a, b = cls(RTCConfiguration(iceServers=[])), cls(RTCConfiguration(iceServers=[]))
    a.createDataChannel("x")
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    loop = asyncio.get_running_loop()
    connected = asyncio.Event()
    # a no-argument handler reads the attribute, for either kind
    a.on(
        "connectionstatechange",
        lambda: a.connectionState == "connected" and connected.set(),
    )
    start = loop.time()
    await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(connected.wait(), 10)
    elapsed = loop.time() - start
    await a.close()
    await b.close()
    return elapsed


async def main(rounds: int) -> None:
    kinds = {"aiortc": RTCPeerConnection, "rtcstate": rtcstate.PeerConnection}
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, cls in kinds.items():
            times[name].append(await once(cls))
    print(f"answer applied -> connected, {rounds} rounds alternating")
    for name, values in times.items():
        print(
            f"  {name:9} median {1000 * statistics.median(values):6.1f} ms "
            f"(min {1000 * min(values):.1f}, max {1000 * max(values):.1f})"
        )
    ratio = statistics.median(times["rtcstate"]) / statistics.median(times["aiortc"])
    print(f"  ratio rtcstate/aiortc of medians: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="set-ups of each kind, alternating"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rounds))
