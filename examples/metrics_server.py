"""Prometheus metrics of a few rtcstate connections, served on /metrics.

Connects a few pairs of peers over loopback, then serves their metrics (the
`rtcstate[prometheus]` extra) on 127.0.0.1 until interrupted:

    python examples/metrics_server.py --port 9464 --pairs 3 --close-one-after 10
    curl -s http://127.0.0.1:9464/metrics | grep '^rtcstate_'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiortc import RTCConfiguration
from prometheus_client import CollectorRegistry, start_http_server

import rtcstate
from rtcstate.metrics import ConnectionCollector
from rtcstate.testing import connect


async def main(args: argparse.Namespace) -> int:
    # A registry of our own: nothing global. all_connections=True covers every
    # rtcstate connection of the process, made before or after; collector.add(pc)
    # would cover only the ones given.
    registry = CollectorRegistry()
    registry.register(ConnectionCollector(all_connections=True))
    # prometheus_client's server answers in a thread of its own; the collector
    # reads the connections from there (see docs/observability.md)
    server, thread = start_http_server(args.port, addr="127.0.0.1", registry=registry)

    config = RTCConfiguration(iceServers=[])  # nothing leaves this machine
    pairs: list[tuple[rtcstate.PeerConnection, rtcstate.PeerConnection]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for _ in range(args.pairs):
            offerer = rtcstate.PeerConnection(config)
            answerer = rtcstate.PeerConnection(config)
            pairs.append((offerer, answerer))
            offerer.createDataChannel("chat")
            await connect(offerer, answerer)
        print(f"serving http://127.0.0.1:{server.server_port}/metrics", flush=True)
        if args.close_one_after is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), args.close_one_after)
            if not stop.is_set():
                for pc in pairs[0]:
                    await pc.close()
                print("closed one pair", flush=True)
        await stop.wait()
        return 0
    finally:
        for offerer, answerer in pairs:
            await offerer.close()
            await answerer.close()
        server.shutdown()
        thread.join()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=9464, help="port on 127.0.0.1 (0: any free one)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="pairs of peers")
    parser.add_argument(
        "--close-one-after",
        type=float,
        metavar="S",
        help="close the first pair S seconds after serving",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
