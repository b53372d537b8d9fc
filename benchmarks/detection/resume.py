"""Time from `connected` again to the delivery of everything a data channel queued
during an outage, with rtcstate resending SCTP's data at once and without it.

Each round: two rtcstate peers (default LivenessConfig) talk through a FaultyLink on
127.0.0.1, the offerer `a` runs `rtcstate.recover()` (its restarts bring the pair
back once an outage has gone on to `failed`); the link is cut for `outage` seconds
while `a` sends one numbered message every 100 ms on its channel; then it is restored.
Recorded: from the cut's end to `a` reading `connected`, and from that `connected` to
the last message's arrival at `b`. The two variants alternate within one process:

- ``resend``: rtcstate as it is: when an ICE transport is back, what SCTP sent into
  the outage goes again at once;
- ``timer``: the same with that resend switched off, as before: SCTP retransmits at
  its T3 timer (an RTO of at least 1 s after its last try).

For outages that reach `failed` (15 s), the policy's attempts are spread so that one
starts after the link is back: `attempts=8` with `backoff=0.5` (its defaults would
give up about 16 s into an outage).

    python benchmarks/detection/resume.py                  # about 2 minutes
    python benchmarks/detection/resume.py --outages 2 15 30 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration

import rtcstate
from rtcstate import _shims
from rtcstate.testing import FaultyLink, connect, negotiate

RESEND = _shims.resend_sctp


@dataclass
class Result:
    variant: str
    outage: float
    back: float  # cut's end -> a connected
    delivered: float  # a connected -> the last message at b
    messages: int


async def one_round(variant: str, outage: float) -> Result:
    _shims.resend_sctp = RESEND if variant == "resend" else _no_resend
    loop = asyncio.get_running_loop()
    a = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    b = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    received: list[str] = []
    channel = a.createDataChannel("queued")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    last_arrival = 0.0

    @b.on("datachannel")
    def on_datachannel(remote: Any) -> None:
        @remote.on("message")
        def on_message(message: str) -> None:
            nonlocal last_arrival
            received.append(message)
            last_arrival = loop.time()

    try:
        async with FaultyLink() as link:

            async def renegotiate() -> None:
                await negotiate(a, b, link=link)

            await connect(a, b, link=link)
            await asyncio.wait_for(opened.wait(), 10)
            rtcstate.recover(a, renegotiate, attempts=8, backoff=0.5)
            link.cut()
            sent = 0
            end = loop.time() + outage
            while loop.time() < end:  # bounded: one message each 100 ms
                channel.send(f"m{sent}")
                sent += 1
                await asyncio.sleep(0.1)
            link.restore()
            restored = loop.time()
            await _connected(a, 60)
            back = loop.time()
            for _ in range(3000):  # at most 30 s
                if len(received) == sent:
                    break
                await asyncio.sleep(0.01)
            if received != [f"m{i}" for i in range(sent)]:
                raise RuntimeError(
                    f"{variant}, {outage:g} s: {len(received)} of {sent} delivered"
                )
            return Result(
                variant, outage, back - restored, max(0.0, last_arrival - back), sent
            )
    finally:
        _shims.resend_sctp = RESEND
        await asyncio.gather(a.close(), b.close())


def _no_resend(sctp: Any, acked: int | None = None) -> int | None:
    return None  # nothing resent: SCTP's own timer


async def _connected(pc: rtcstate.PeerConnection, timeout: float) -> None:
    """Until `pc` reads connected (through failed, which a restart leaves)."""
    for _ in range(int(timeout / 0.01)):
        if pc.connectionState == "connected":
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"not connected again within {timeout} s")


async def main(outages: list[float], rounds: int) -> None:
    results: list[Result] = []
    for outage in outages:
        for _ in range(rounds):
            for variant in ("resend", "timer"):  # alternated, in one process
                result = await one_round(variant, outage)
                results.append(result)
                print(
                    f"  {variant:6} outage {outage:4g} s: connected "
                    f"{result.back:5.2f} s after the link was back, everything "
                    f"({result.messages} messages) delivered "
                    f"{1000 * result.delivered:6.0f} ms after connected",
                    flush=True,
                )
    print("\nconnected -> everything queued delivered, median (ms):")
    print(f"  {'outage':>8} {'resend':>8} {'timer':>8}")
    for outage in outages:
        row = [
            statistics.median(
                r.delivered for r in results if r.outage == outage and r.variant == v
            )
            for v in ("resend", "timer")
        ]
        print(f"  {outage:6g} s {1000 * row[0]:8.0f} {1000 * row[1]:8.0f}")
    worst = max(r.delivered for r in results if r.variant == "resend")
    verdict = "met" if worst <= 0.5 else "NOT met"
    print(f"  target: all queued data delivered <= 0.5 s after connected: {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--outages", type=float, nargs="+", default=[2.0, 15.0, 30.0], help="seconds"
    )
    parser.add_argument("--rounds", type=int, default=1, help="per outage and variant")
    args = parser.parse_args()
    asyncio.run(main(args.outages, args.rounds))
