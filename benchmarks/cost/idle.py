"""Idle cost at scale: CPU, packets and loop wake-ups, rtcstate against plain aiortc.

Everything runs in one process, in phases that alternate (A/B inside the process,
as networks.py does): for each N of --pairs, each round connects N pairs of one
kind, lets them settle, then measures over a window of --seconds in which nothing
happens but keepalives and consent checks: the process's CPU time, the datagrams
sent (STUN binding requests counted apart) and how often the event loop woke up.
The kinds' order turns each round. Medians, min-max and the rtcstate/aiortc ratio
are printed as a Markdown table under a line that says when, with what versions
and on what machine it ran. "Connection" is one peer connection (a pair is two);
liveness is at its defaults.

RSS cannot be compared inside one process (memory freed by one phase is reused by
the next), so --rss measures it apart: one fresh process per kind and N, after
the in-process rounds.

    python benchmarks/cost/idle.py [--pairs 50 200 500] [--seconds 30]
        [--rounds 3] [--keepalive 1.0] [--rss] [--svg docs/img/idle-cpu.svg]

--keepalive K runs rtcstate with ``scaled_liveness(K)``: the defaults are K = 1.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate
from rtcstate.testing import negotiate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stamp import stamp

KINDS = ("aiortc", "rtcstate")
SETTLE = 6.0  # past DTLS/SCTP set-up and the first keepalives
REST = 2.0  # after a phase's close, before the next phase connects


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Counters:
    """Counts datagrams sent and loop wake-ups (benchmark instrumentation),
    installed once in the process; a phase reads the difference."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from asyncio import selector_events

        self.requests = self.datagrams = self.polls = 0
        counters = self
        cls: Any = selector_events._SelectorDatagramTransport  # type: ignore[attr-defined]
        original = cls.sendto

        def sendto(transport: Any, data: bytes, addr: Any = None) -> None:
            counters.datagrams += 1
            if data[:2] == b"\x00\x01":  # STUN binding request
                counters.requests += 1
            original(transport, data, addr)

        cls.sendto = sendto
        selector: Any = loop._selector  # type: ignore[attr-defined]
        select = selector.select

        def counted_select(timeout: float | None = None) -> Any:
            if timeout is None or timeout > 0:  # a real wait, not a peek
                counters.polls += 1
            return select(timeout)

        selector.select = counted_select

    def read(self) -> tuple[int, int, int]:
        return self.requests, self.datagrams, self.polls


async def connect(cls: Any, config: Any) -> list[Any]:
    a, b = cls(config), cls(config)
    a.createDataChannel("idle")
    await negotiate(a, b)
    for _ in range(1500):
        if a.connectionState == "connected" and b.connectionState == "connected":
            return [a, b]
        await asyncio.sleep(0.02)
    raise RuntimeError("a pair did not connect")


def scaled_liveness(keepalive: float) -> Any:
    """The default timers for another keepalive interval K: probing starts 0.2 s
    after a missed answer and lasts 0.8 s before ``disconnected``, as with the
    defaults (K = 1), so loss tolerance stays the same; ``disconnected`` comes at
    most K + 1 s after the last answer."""
    return rtcstate.LivenessConfig(
        keepalive_interval=keepalive,
        probe_after=keepalive + 0.2,
        disconnected_timeout=keepalive + 1.0,
        failed_timeout=max(15.0, keepalive + 2.0),
    )


def factory(kind: str, keepalive: float) -> Any:
    if kind == "aiortc":
        return RTCPeerConnection
    return functools.partial(
        rtcstate.PeerConnection, liveness=scaled_liveness(keepalive)
    )


async def phase(
    kind: str, pairs: int, seconds: float, keepalive: float, counters: Counters
) -> dict[str, float]:
    """Connect `pairs` pairs of `kind`, let them settle, measure, close."""
    cls = factory(kind, keepalive)
    config = RTCConfiguration(iceServers=[])
    base_rss = rss_mb()
    pcs: list[Any] = []
    try:
        for start in range(0, pairs, 20):  # 20 pairs at a time
            batch = [connect(cls, config) for _ in range(start, min(pairs, start + 20))]
            for pair in await asyncio.gather(*batch):
                pcs += pair
        await asyncio.sleep(SETTLE)
        before = counters.read()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        requests, datagrams, polls = (
            after - first for after, first in zip(counters.read(), before, strict=True)
        )
        if any(pc.connectionState != "connected" for pc in pcs):
            raise RuntimeError("a connection left connected while idle")
        n = len(pcs)
        return {
            "cpu_us": cpu / (n * wall) * 1e6,
            "requests_per_s": requests / (n * wall),
            "datagrams_per_s": datagrams / (n * wall),
            "wakeups_per_s": polls / wall,
            "rss_mb": rss_mb(),
            "rss_kb_per_connection": (rss_mb() - base_rss) * 1024 / n,
        }
    finally:
        for pc in pcs:
            await pc.close()
        pcs.clear()
        gc.collect()
        await asyncio.sleep(REST)


async def in_process(args: Any) -> dict[int, dict[str, list[dict[str, float]]]]:
    counters = Counters(asyncio.get_running_loop())
    results: dict[int, dict[str, list[dict[str, float]]]] = {}
    for pairs in args.pairs:
        results[pairs] = {kind: [] for kind in KINDS}
        for round_ in range(args.rounds):
            shift = round_ % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                got = await phase(kind, pairs, args.seconds, args.keepalive, counters)
                results[pairs][kind].append(got)
                print(f"  {pairs} pairs, {kind}: {got}", file=sys.stderr, flush=True)
    return results


def run_child(
    kind: str, pairs: int, seconds: float, keepalive: float
) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--pairs",
            str(pairs),
            "--seconds",
            str(seconds),
            "--keepalive",
            str(keepalive),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600 + seconds,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def child(kind: str, pairs: int, seconds: float, keepalive: float) -> Any:
    counters = Counters(asyncio.get_running_loop())
    return await phase(kind, pairs, seconds, keepalive, counters)


FIGURES = [
    ("cpu_us", "CPU µs per connection-second", "{:.0f}"),
    ("requests_per_s", "binding requests/s per connection", "{:.2f}"),
    ("datagrams_per_s", "datagrams/s per connection", "{:.2f}"),
    ("wakeups_per_s", "loop wake-ups/s (process)", "{:.0f}"),
    ("rss_mb", "RSS MB (process, --rss)", "{:.0f}"),
    ("rss_kb_per_connection", "RSS kB per connection (--rss)", "{:.0f}"),
]
RSS = ("rss_mb", "rss_kb_per_connection")


def table(results: dict[int, dict[str, list[dict[str, float]]]]) -> str:
    lines = [
        "| pairs | figure | aiortc median (min-max) | rtcstate median (min-max) "
        "| ratio |",
        "|---|---|---|---|---|",
    ]
    for pairs, by_kind in results.items():
        for key, label, fmt in FIGURES:
            if any(key not in r for kind in KINDS for r in by_kind[kind]):
                continue  # not measured in this run
            cells, medians = [], []
            for kind in KINDS:
                values = [r[key] for r in by_kind[kind]]
                median = statistics.median(values)
                medians.append(median)
                cells.append(
                    f"{fmt.format(median)} ({fmt.format(min(values))}-"
                    f"{fmt.format(max(values))})"
                )
            ratio = f"{medians[1] / medians[0]:.2f}" if medians[0] else "-"
            lines.append(f"| {pairs} | {label} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines)


def svg(results: dict[int, dict[str, list[dict[str, float]]]]) -> str:
    """CPU per connection-second against N, one line per kind, as plain SVG."""
    width, height, left, bottom = 480, 300, 60, 40
    sizes = sorted(results)
    medians = {
        kind: [statistics.median(r["cpu_us"] for r in results[n][kind]) for n in sizes]
        for kind in KINDS
    }
    top = max(max(v) for v in medians.values()) * 1.15
    span = max(sizes) - min(sizes) or 1

    def x(n: int) -> float:
        return left + (n - min(sizes)) / span * (width - left - 20)

    def y(v: float) -> float:
        return height - bottom - v / top * (height - bottom - 20)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<line x1="{left}" y1="{y(0)}" x2="{width - 10}" y2="{y(0)}" stroke="#444"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="10" stroke="#444"/>',
        f'<text x="{width / 2}" y="{height - 5}" text-anchor="middle">pairs (N)</text>',
        f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" '
        'text-anchor="middle">CPU µs per connection-second</text>',
    ]
    for step in range(5):
        value = top * step / 5
        parts.append(
            f'<text x="{left - 5}" y="{y(value) + 4}" text-anchor="end">'
            f"{value:.0f}</text>"
        )
    for n in sizes:
        parts.append(
            f'<text x="{x(n)}" y="{y(0) + 15}" text-anchor="middle">{n}</text>'
        )
    for kind, colour in zip(KINDS, ("#888", "#1f77b4"), strict=True):
        points = " ".join(
            f"{x(n):.1f},{y(v):.1f}" for n, v in zip(sizes, medians[kind], strict=True)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" '
            'stroke-width="2"/>'
        )
        for n, v in zip(sizes, medians[kind], strict=True):
            parts.append(
                f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>'
            )
        last = medians[kind][-1]
        parts.append(
            f'<text x="{x(sizes[-1]) - 5}" y="{y(last) - 8}" text-anchor="end" '
            f'fill="{colour}">{kind}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--pairs",
        type=int,
        nargs="+",
        default=[50, 200, 500],
        help="pairs connected in each measurement (N), one or more",
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measured window, after settling"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements of each kind, alternating"
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=1.0,
        help="rtcstate's keepalive interval K (scaled_liveness)",
    )
    parser.add_argument(
        "--rss", action="store_true", help="also measure RSS, in fresh processes"
    )
    parser.add_argument("--svg", help="write the CPU plot here")
    # one measurement in this process, with one --pairs (what run_child starts)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.child:
        if len(args.pairs) != 1:
            parser.error("--child measures one --pairs")
        (pairs,) = args.pairs
        result = child(args.child, pairs, args.seconds, args.keepalive)
        print(json.dumps(asyncio.run(result)))
        return
    started = time.perf_counter()
    results = asyncio.run(in_process(args))
    for by_kind in results.values():
        for runs in by_kind.values():
            for run in runs:
                for key in RSS:
                    del run[key]  # one process: the next phase reuses freed memory
    if args.rss:
        for pairs in args.pairs:
            for kind in KINDS:
                got = run_child(kind, pairs, args.seconds, args.keepalive)
                print(f"  RSS, {pairs} pairs, {kind}: {got}", file=sys.stderr)
                for run in results[pairs][kind]:
                    run.update({key: got[key] for key in RSS})
    print(stamp())
    print(
        f"idle: {args.seconds:g} s windows, {args.rounds} rounds alternating in one "
        f"process, rtcstate keepalive interval {args.keepalive:g} s"
        f"{', RSS from one fresh process per kind and N' if args.rss else ''}, "
        f"{time.perf_counter() - started:.0f} s in all\n"
    )
    print(table(results))
    if args.svg:
        with open(args.svg, "w") as out:
            out.write(svg(results))


if __name__ == "__main__":
    main()
