"""Idle cost of the network monitor: connected rtcstate pairs with it and without it.

Everything runs in one process, in phases that alternate (A/B inside the process):
each phase connects --pairs pairs (2 x pairs connections, `iceServers=[]`), lets
them settle, then measures the process's CPU time over an idle window of
--seconds. In the ``monitor`` phases each ICE transport follows the process's
network monitor (rtnetlink here) as rtcstate does; in the ``none`` phases the
subscription is switched off (`TransportLiveness._watch_network` made a no-op),
so nothing follows the network. Nothing changes on the network meanwhile: what is
measured is what following it costs at rest. It also checks that no descriptor
is left once the last connection of a phase has closed.

    python benchmarks/cost/netmon.py [--pairs 250] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from aiortc import RTCConfiguration

import rtcstate
from rtcstate import _netmon
from rtcstate._transport_liveness import TransportLiveness
from rtcstate.testing import negotiate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stamp import stamp

SETTLE = 6.0  # past DTLS/SCTP set-up and the first keepalives
REST = 2.0  # after a phase's close


def descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def phase(kind: str, pairs: int, seconds: float) -> tuple[float, str]:
    """CPU per connection-second over the idle window, in microseconds, and
    the monitor's mode while the pairs were connected."""
    original = TransportLiveness._watch_network
    if kind == "none":
        TransportLiveness._watch_network = lambda self: None  # type: ignore[method-assign]
    config = RTCConfiguration(iceServers=[])
    made: list[rtcstate.PeerConnection] = []
    try:
        for _ in range(pairs):
            a, b = rtcstate.PeerConnection(config), rtcstate.PeerConnection(config)
            made += [a, b]
            a.createDataChannel("x")
            await negotiate(a, b)
        await asyncio.wait_for(
            asyncio.gather(*(pc.wait_for_connection_state("connected") for pc in made)),
            60,
        )
        await asyncio.sleep(SETTLE)
        mode = _netmon.monitor().mode
        cpu = time.process_time()
        await asyncio.sleep(seconds)
        used = time.process_time() - cpu
        return used / (len(made) * seconds) * 1e6, mode
    finally:
        await asyncio.gather(*(pc.close() for pc in made))
        TransportLiveness._watch_network = original  # type: ignore[method-assign]
        await asyncio.sleep(REST)


async def main(args: argparse.Namespace) -> None:
    figures: dict[str, list[float]] = {"monitor": [], "none": []}
    before = descriptors()
    leftovers: list[int] = []
    for round_ in range(args.rounds):
        kinds = ["monitor", "none"] if round_ % 2 == 0 else ["none", "monitor"]
        for kind in kinds:
            figure, mode = await phase(kind, args.pairs, args.seconds)
            figures[kind].append(figure)
            leftovers.append(descriptors() - before)
            print(
                f"round {round_ + 1}: {kind:7} {figure:6.1f} us per connection-second"
                f" (monitor: {mode}; descriptors left after close: {leftovers[-1]})",
                flush=True,
            )
    print(f"\n{stamp()}")
    print(
        f"## The network monitor at rest, A/B in one process\n\n"
        f"{2 * args.pairs} connections ({args.pairs} pairs), idle windows of "
        f"{args.seconds:g} s, {args.rounds} of each kind alternating; process CPU "
        f"per connection-second, median (min-max)\n"
    )
    print("| kind | idle CPU (us per connection-second) |")
    print("|---|---|")
    for kind, values in figures.items():
        print(
            f"| {kind} | {statistics.median(values):.1f} "
            f"({min(values):.1f}-{max(values):.1f}) |"
        )
    ratio = statistics.median(figures["monitor"]) / statistics.median(figures["none"])
    print(f"\nratio of medians monitor/none: {ratio:.2f}")
    print(f"descriptors left after each phase's close: {leftovers}")
    print(f"monitor after the last phase: {_netmon.monitor().mode}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--pairs", type=int, default=250, help="pairs per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="idle window")
    parser.add_argument("--rounds", type=int, default=3, help="phases of each kind")
    asyncio.run(main(parser.parse_args()))
