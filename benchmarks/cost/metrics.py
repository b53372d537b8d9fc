"""What the Prometheus collector costs, at scale, in one process.

Connects --pairs pairs of rtcstate peers (this machine's own addresses, liveness at
its defaults), lets them settle, then alternates windows of --seconds, over
--rounds rounds:

- A: no collector;
- B: a `ConnectionCollector(all_connections=True)` registered in a registry of its
  own (an observer on every connection), scraped every --scrape-interval seconds
  by a thread, as prometheus_client's own server would.

Both phases run on the same connections, so the difference is the collector's
alone. It prints the process's CPU time per connection-second of each window
(medians, and the B/A ratio), its RSS at the end of each, then, with every
connection live: the median time of one `getStats()` call, and of one scrape
(`generate_latest`) of all of them, on the loop's thread.

    python benchmarks/cost/metrics.py [--pairs 500] [--seconds 10] [--rounds 3]
                                      [--scrape-interval 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from typing import Any

from aiortc import RTCConfiguration

# idle.py, beside this script (on sys.path when it is run)
from idle import rss_mb
from prometheus_client import CollectorRegistry, generate_latest

import rtcstate
from rtcstate.metrics import ConnectionCollector
from rtcstate.testing import negotiate

SETTLE = 6.0  # past DTLS/SCTP set-up and the first keepalives


async def connect_pair() -> list[rtcstate.PeerConnection]:
    config = RTCConfiguration(iceServers=[])
    a, b = rtcstate.PeerConnection(config), rtcstate.PeerConnection(config)
    a.createDataChannel("idle")
    await negotiate(a, b)
    await a.wait_for_connection_state("connected", timeout=60)
    await b.wait_for_connection_state("connected", timeout=60)
    return [a, b]


class Scraper(threading.Thread):
    """Scrapes a registry every `interval` seconds until stopped."""

    def __init__(self, registry: CollectorRegistry, interval: float) -> None:
        super().__init__(daemon=True)
        self.registry = registry
        self.interval = interval
        self.stopped = threading.Event()
        self.scrapes = 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            generate_latest(self.registry)
            self.scrapes += 1


async def window(seconds: float, connections: int) -> float:
    """CPU µs per connection-second over one window."""
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / (connections * wall) * 1e6


async def main(args: argparse.Namespace) -> None:
    pcs: list[rtcstate.PeerConnection] = []
    try:
        for start in range(0, args.pairs, 20):  # 20 pairs at a time
            batch = [connect_pair() for _ in range(start, min(args.pairs, start + 20))]
            for pair in await asyncio.gather(*batch):
                pcs += pair
        await asyncio.sleep(SETTLE)
        n = len(pcs)
        cpu: dict[str, list[float]] = {"A": [], "B": []}
        rss: dict[str, list[float]] = {"A": [], "B": []}
        scrapes = 0
        for _ in range(args.rounds):
            cpu["A"].append(await window(args.seconds, n))
            rss["A"].append(rss_mb())
            collector = ConnectionCollector(all_connections=True)
            registry = CollectorRegistry()
            registry.register(collector)
            scraper = Scraper(registry, args.scrape_interval)
            scraper.start()
            cpu["B"].append(await window(args.seconds, n))
            rss["B"].append(rss_mb())
            scraper.stopped.set()
            scraper.join()
            scrapes += scraper.scrapes
            for pc in pcs:
                collector.remove(pc)
        if any(pc.connectionState != "connected" for pc in pcs):
            raise RuntimeError("a connection left connected while idle")

        loop_collector = ConnectionCollector(all_connections=True)
        registry = CollectorRegistry()
        registry.register(loop_collector)
        scrape_times = []
        for _ in range(args.scrapes):
            begin = time.perf_counter()
            text = generate_latest(registry)
            scrape_times.append(time.perf_counter() - begin)
        stats_times = []
        for pc in pcs[: args.get_stats]:
            begin = time.perf_counter()
            await pc.getStats()
            stats_times.append(time.perf_counter() - begin)

        print(
            f"{args.pairs} pairs ({n} connections), {args.rounds} rounds of "
            f"{args.seconds:g} s windows, A: no collector, B: collector scraped every "
            f"{args.scrape_interval:g} s ({scrapes} scrapes in all)"
        )
        for phase in ("A", "B"):
            values = cpu[phase]
            print(
                f"  {phase}: CPU {statistics.median(values):.1f} µs per "
                f"connection-second (min {min(values):.1f}, max {max(values):.1f}), "
                f"RSS {statistics.median(rss[phase]):.0f} MB"
            )
        ratio = statistics.median(cpu["B"]) / statistics.median(cpu["A"])
        print(f"  CPU ratio B/A of medians: {ratio:.3f}")
        print(
            f"  getStats() of one connection: median "
            f"{1e6 * statistics.median(stats_times):.0f} µs over {len(stats_times)}"
        )
        print(
            f"  a scrape of {n} connections: median "
            f"{1e3 * statistics.median(scrape_times):.1f} ms, max "
            f"{1e3 * max(scrape_times):.1f} ms over {len(scrape_times)} "
            f"({len(text)} bytes)"
        )
    finally:
        for pc in pcs:
            await pc.close()


def parse_args() -> Any:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--pairs", type=int, default=500, help="live pairs")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of each window"
    )
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds")
    parser.add_argument(
        "--scrape-interval", type=float, default=1.0, help="seconds between scrapes"
    )
    parser.add_argument(
        "--scrapes", type=int, default=20, help="scrapes timed on the loop's thread"
    )
    parser.add_argument(
        "--get-stats", type=int, default=200, help="getStats() calls timed"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
