"""Soak: many rtcstate pairs through FaultyLinks with random, seeded faults.

Each pair gets its own schedule of faults, drawn from the seed: cuts in both
directions and in one, loss, delay, and for some pairs a permanent cut. Then:

- every recorded state sequence must be a path of the state graph
  (``rtcstate.rules.is_valid_transition``);
- nothing may raise (handlers, tasks, the event loop's exception handler);
- each pair must end in the state its faults imply: ``failed`` after a
  permanent cut, ``connected`` otherwise.

The same seed gives the same schedules. A short version runs in the tests.

    python benchmarks/soak.py                       # 20 pairs, 60 s, default timers
    python benchmarks/soak.py --pairs 4 --seconds 10 --fast --seed 3
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration

import rtcstate
from rtcstate.rules import is_valid_transition
from rtcstate.testing import FAST_LIVENESS, FaultyLink

FAST = FAST_LIVENESS


@dataclass
class Fault:
    at: float
    kind: str  # cut, oneway, loss, delay, permanent
    duration: float
    detail: Any = None

    def __str__(self) -> str:
        extra = f" {self.detail}" if self.detail is not None else ""
        return f"{self.at:6.2f}s {self.kind}{extra} for {self.duration:.2f}s"


@dataclass
class PairResult:
    index: int
    faults: list[Fault]
    expected: str
    final: str = ""
    history: list[rtcstate.StateChange] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.final == self.expected and not self.invalid and not self.errors


def schedule(
    rng: random.Random, seconds: float, config: rtcstate.LivenessConfig
) -> list[Fault]:
    """Faults for one pair. Every temporary fault is short enough that it can
    never reach failed_timeout; a permanent cut leaves time to fail."""
    faults: list[Fault] = []
    limit = config.failed_timeout
    settle = config.disconnected_timeout + 1.0
    permanent = rng.random() < 0.3 and seconds > limit + settle + 2
    end = seconds - (limit + settle + 1 if permanent else settle)
    t = rng.uniform(0.2, 1.0) * config.disconnected_timeout
    while True:
        kind = rng.choice(["cut", "oneway", "loss", "delay"])
        duration = rng.uniform(0.1, 0.6) * (limit - config.keepalive_interval)
        if t + duration > end:
            break
        detail: Any = None
        if kind == "oneway":
            detail = rng.choice(["to_answerer", "to_offerer"])
        elif kind == "loss":
            detail = rng.choice([0.1, 0.3])
        elif kind == "delay":
            detail = round(rng.uniform(0.02, 0.1), 3)
        faults.append(Fault(round(t, 3), kind, round(duration, 3), detail))
        t += duration + rng.uniform(0.3, 1.5) * config.disconnected_timeout
    if permanent:
        faults.append(Fault(round(max(t, 0.5), 3), "permanent", seconds))
    return faults


async def apply(link: FaultyLink, faults: list[Fault], start: float) -> None:
    loop = asyncio.get_running_loop()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at - loop.time()))
        if fault.kind in ("cut", "permanent"):
            link.cut()
        elif fault.kind == "oneway":
            link.cut(fault.detail)
        elif fault.kind == "loss":
            link.set_loss(fault.detail)
        else:
            link.set_delay(fault.detail)
        if fault.kind == "permanent":
            return
        await asyncio.sleep(fault.duration)
        link.restore()
        link.set_loss(0.0)
        link.set_delay(0.0)


async def soak(
    pairs: int, seconds: float, seed: int, config: rtcstate.LivenessConfig
) -> list[PairResult]:
    """Run the soak and return one result per pair (see the module docstring)."""
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(
        lambda _loop, context: loop_errors.append(f"{loop.time():.2f} {context}")
    )
    results: list[PairResult] = []
    peers: list[rtcstate.PeerConnection] = []
    links: list[FaultyLink] = []
    try:
        for index in range(pairs):
            faults = schedule(rng, seconds, config)
            expected = (
                "failed" if faults and faults[-1].kind == "permanent" else "connected"
            )
            result = PairResult(index, faults, expected)
            results.append(result)
            link = await FaultyLink(seed=rng.randrange(2**32)).start()
            links.append(link)
            a = rtcstate.PeerConnection(
                RTCConfiguration(iceServers=[]), liveness=config
            )
            b = rtcstate.PeerConnection(
                RTCConfiguration(iceServers=[]), liveness=config
            )
            peers += [a, b]

            def on_error(error: BaseException, result: PairResult = result) -> None:
                result.errors.append(repr(error))

            a.on("error", on_error)
            channel = a.createDataChannel("soak")
            channel.on("open", lambda channel=channel: _chatter(channel))
            await a.setLocalDescription(await a.createOffer())
            await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
            await b.setLocalDescription(await b.createAnswer())
            await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
        for a in peers[::2]:
            await a.wait_for_connection_state("connected", timeout=15)
        start = loop.time()
        await asyncio.gather(
            *(
                apply(link, r.faults, start)
                for link, r in zip(links, results, strict=True)
            )
        )
        await asyncio.sleep(max(0.0, start + seconds - loop.time()))
        for result, a in zip(results, peers[::2], strict=True):
            result.final = str(a.connectionState)
            result.history = a.state_history
            last: dict[str, str] = {}
            for change in result.history:
                before = last.get(change.attribute, str(change.previous))
                if before != change.previous or not is_valid_transition(
                    change.attribute, str(change.previous), str(change.current)
                ):
                    result.invalid.append(str(change))
                last[change.attribute] = str(change.current)
    finally:
        for pc in peers:
            await pc.close()
        for link in links:
            link.close()
        loop.set_exception_handler(previous_handler)
    if loop_errors:
        for result in results:
            result.errors += loop_errors
    return results


def _chatter(channel: Any) -> None:
    """A message every 0.5 s while open: a little data on every link (bounded
    by the channel's life)."""
    loop = asyncio.get_running_loop()

    def tick(count: int = 0) -> None:
        if channel.readyState == "open" and count < 10_000:
            channel.send(f"tick {count}")
            loop.call_later(0.5, tick, count + 1)

    tick()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fast", action="store_true", help="short liveness timers")
    args = parser.parse_args()
    config = FAST if args.fast else rtcstate.LivenessConfig()
    began = time.perf_counter()
    results = asyncio.run(soak(args.pairs, args.seconds, args.seed, config))
    faults = sum(len(r.faults) for r in results)
    changes = sum(len(r.history) for r in results)
    print(
        f"soak: {args.pairs} pairs, {args.seconds:.0f} s, seed {args.seed}, "
        f"{'fast' if args.fast else 'default'} timers: {faults} faults, {changes} "
        f"state changes, {time.perf_counter() - began:.0f} s wall"
    )
    bad = [r for r in results if not r.ok]
    for r in results:
        status = "ok " if r.ok else "BAD"
        print(
            f"  {status} pair {r.index:2}: {len(r.faults):2} faults, "
            f"expected {r.expected}, ended {r.final}, {len(r.history)} changes"
        )
        if not r.ok:
            for fault in r.faults:
                print(f"        {fault}")
            for line in r.invalid + r.errors:
                print(f"        ! {line}")
    errors = sum(len(r.errors) for r in results)
    valid = not any(r.invalid for r in results)
    print(
        f"{len(results) - len(bad)}/{len(results)} pairs as implied, "
        f"paths all valid: {valid}, errors: {errors}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
