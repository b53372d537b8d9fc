"""Relayed paths against host candidates: connect time, keepalive packets and CPU,
rtcstate against plain aiortc.

Needs Debian's coturn (``turnserver``), started here on 127.0.0.1 as in the tests
(tests/support/turn.py). Everything runs in one process, in phases that alternate (A/B
inside the process): each round goes through every (path, kind) in a rotated
order, and each phase connects N pairs of that kind on that path, lets them
settle, then measures over a window in which nothing happens but keepalives and
consent checks:

- the process's CPU time per connection-second (a pair is two connections);
- STUN binding requests sent per connection-second (aioice's consent checks and
  rtcstate's keepalives, on either route);
- for relayed paths, coturn's own CPU time per relayed connection-second.

Medians over the rounds, with min-max, printed as a Markdown table.

    python benchmarks/cost/networks.py [--pairs 20] [--seconds 15] [--rounds 2]
                                       [--keepalive 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceTransportPolicy, RTCPeerConnection

import rtcstate
from rtcstate import _stun as stun
from rtcstate.testing import negotiate

# the tests' coturn server (tests/support/turn.py), from the repository's root
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cost.idle import scaled_liveness
from stamp import stamp
from tests.support.turn import TurnServer

PATHS = ("host", "relay/udp", "relay/tcp", "relay/tls")
KINDS = ("aiortc", "rtcstate")
SETTLE = 5.0  # past DTLS/SCTP set-up and the first keepalives


class RequestCounter:
    """Counts binding requests built on both routes (benchmark instrumentation)."""

    def __init__(self) -> None:
        self.count = 0
        counter = self
        build_request = aioice.ice.Connection.build_request
        binding_request = stun.binding_request

        def counted_build_request(connection: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return build_request(connection, *args, **kwargs)

        def counted_binding_request(*args: Any, **kwargs: Any) -> bytes:
            counter.count += 1
            return binding_request(*args, **kwargs)

        aioice.ice.Connection.build_request = counted_build_request  # type: ignore[method-assign]
        stun.binding_request = counted_binding_request  # type: ignore[assignment]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configuration(turn: TurnServer, path: str) -> RTCConfiguration:
    if path == "host":
        return RTCConfiguration(iceServers=[])
    transport = path.split("/")[1]
    return RTCConfiguration(
        iceServers=turn.ice_servers(transport),  # type: ignore[arg-type]
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


async def connect(cls: Any, config: RTCConfiguration) -> tuple[list[Any], float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    a, b = cls(config), cls(config)
    channel = a.createDataChannel("idle")
    await negotiate(a, b)
    for _ in range(1000):
        if channel.readyState == "open":
            return [a, b], loop.time() - start
        await asyncio.sleep(0.01)
    raise RuntimeError(f"{cls.__name__} did not connect")


async def phase(
    turn: TurnServer, counter: RequestCounter, path: str, kind: str, args: Any
) -> dict[str, float]:
    cls: Any = RTCPeerConnection
    if kind == "rtcstate":
        cls = functools.partial(
            rtcstate.PeerConnection, liveness=scaled_liveness(args.keepalive)
        )
    config = configuration(turn, path)
    results = await asyncio.gather(*(connect(cls, config) for _ in range(args.pairs)))
    pcs = [pc for pair, _ in results for pc in pair]
    try:
        await asyncio.sleep(SETTLE)
        if any(pc.connectionState != "connected" for pc in pcs):
            raise RuntimeError(f"{path} {kind}: a connection left connected")
        pid = turn._process.pid  # type: ignore[union-attr]
        requests, turn_cpu = counter.count, process_cpu(pid)
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(args.seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        requests, turn_cpu = counter.count - requests, process_cpu(pid) - turn_cpu
        connection_seconds = len(pcs) * wall
        return {
            "connect ms": statistics.median(t for _, t in results) * 1000,
            "CPU us/conn-s": cpu / connection_seconds * 1e6,
            "requests/conn-s": requests / connection_seconds,
            "coturn CPU us/conn-s": (
                turn_cpu / connection_seconds * 1e6 if path != "host" else 0.0
            ),
        }
    finally:
        for pc in pcs:
            await pc.close()
        await asyncio.sleep(0.5)


async def main(args: Any) -> None:
    counter = RequestCounter()
    figures: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    phases = [(path, kind) for path in PATHS for kind in KINDS]
    with tempfile.TemporaryDirectory() as directory:
        turn = TurnServer(Path(directory), tls=True).start()
        # aioice trusts the server's self-signed certificate for turns: this way
        os.environ["SSL_CERT_FILE"] = str(turn.cert_path)
        try:
            for round_ in range(args.rounds):
                shift = round_ % len(phases)
                for path, kind in phases[shift:] + phases[:shift]:
                    got = await phase(turn, counter, path, kind, args)
                    print(f"round {round_ + 1}: {path:9} {kind:8} {got}", flush=True)
                    for name, value in got.items():
                        figures[(path, kind)][name].append(value)
        finally:
            turn.stop()
    names = list(next(iter(figures.values())))
    print(f"\n{stamp()}")
    print(
        f"{args.pairs} pairs per phase, {args.seconds:.0f} s windows, "
        f"rtcstate keepalive interval {args.keepalive:g} s, "
        f"{args.rounds} rounds; median (min-max)\n"
    )
    print("| path | kind | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for (path, kind), values in figures.items():
        cells = [
            f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
            for v in (values[name] for name in names)
        ]
        print(f"| {path} | {kind} | " + " | ".join(cells) + " |")
    print("\nCPU ratio rtcstate / aiortc, per path (medians):")
    for path in PATHS:
        ours = statistics.median(figures[(path, "rtcstate")]["CPU us/conn-s"])
        theirs = statistics.median(figures[(path, "aiortc")]["CPU us/conn-s"])
        print(f"  {path}: {ours / theirs:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=1.0,
        help="rtcstate's keepalive interval K (idle.py's scaled_liveness)",
    )
    parser.add_argument(
        "--pairs", type=int, default=20, help="pairs connected in each phase (N)"
    )
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="measured window of each phase"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds through every path and kind"
    )
    asyncio.run(main(parser.parse_args()))
