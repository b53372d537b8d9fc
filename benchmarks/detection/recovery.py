"""Time from a permanent path move to `connected` again, with ICE restarts.

Each pair (an offerer `a` with a data channel, an answerer `b`) talks through its own
FaultyLink on 127.0.0.1. A random 1 to 2 s after the pair is connected (a whole
keepalive interval, so the move falls at any phase of it) the link moves for good
(`FaultyLink.move()`): only an ICE restart, with descriptions rewritten afterwards,
gets the pair through again. Three ways to get there, in alternation in one process:

- ``recover``: rtcstate, default LivenessConfig, ``rtcstate.recover(a, renegotiate)``
  with its defaults (a restart after ``disconnected`` lasted 0.5 s, or on
  ``failed``);
- ``on-failed``: rtcstate, default LivenessConfig, and the common browser pattern:
  ``restartIce()`` and a renegotiation from a ``connectionstatechange`` handler once
  ``a`` reads ``failed`` (15 s of silence);
- ``libwebrtc``: two libwebrtc (PyPI ``wrtc``) peers, the same pattern with
  ``restart_ice()`` on its own ``failed``; its own timers (skipped without ``wrtc``).

``renegotiate`` is ``rtcstate.testing.negotiate(a, b, link=link)``: offer and
answer straight through this process, no signalling server. Per round it records,
from the move: ``disconnected`` and ``failed`` (the offerer's), when the restart began
(rtcstate: the ``ICE restart (...)`` entry of ``a.transport_history``, stamped at
the restart's ``createOffer()``; libwebrtc: the handler's ``restart_ice()`` call), when
the answer was applied (``setRemoteDescription`` returned on the offerer) and when the
offerer, then both sides, read ``connected``.

    python benchmarks/detection/recovery.py                       # about 3 minutes
    python benchmarks/detection/recovery.py --rounds 15 --failed-rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCConfiguration

import rtcstate
from rtcstate.testing import FaultyLink, connect, negotiate

# the tests' libwebrtc adapter (tests/support/libwebrtc.py), from the repository's root
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
try:
    import webrtc
    from tests.support.libwebrtc import Libwebrtc, libwebrtc_peer
except ImportError:  # wrtc is a dev dependency
    webrtc = None
    Libwebrtc = object  # type: ignore[assignment,misc]

TIMEOUT = 10.0


@dataclass
class Round:
    """What one pair showed, in seconds of the loop's time."""

    moved: float = 0.0
    disconnected: float | None = None
    failed: float | None = None
    restart: float | None = None
    applied: float | None = None
    connected: float | None = None  # the offerer
    both: float | None = None  # the offerer and the answerer
    attempts: int = 0
    states: list[tuple[float, str]] = field(default_factory=list)  # the offerer's

    def first(self, state: str) -> float | None:
        return next((t for t, s in self.states if t >= self.moved and s == state), None)


class Pair:
    """One pair of one variant: set up, moved, recovered, closed."""

    def __init__(self, link: FaultyLink) -> None:
        self.link = link
        self.round = Round()
        self._tasks: set[asyncio.Task[None]] = set()

    async def setup(self) -> None:
        raise NotImplementedError

    def connected(self) -> bool:
        raise NotImplementedError

    def finish(self) -> None:
        """Fill in what the pair's own records say, once it is back."""

    async def close(self) -> None:
        raise NotImplementedError

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def renegotiate(self) -> None:
        raise NotImplementedError


class RtcstatePair(Pair):
    def __init__(self, link: FaultyLink, policy: str) -> None:
        super().__init__(link)
        self.policy = policy
        config = RTCConfiguration(iceServers=[])
        self.a = rtcstate.PeerConnection(config)  # default LivenessConfig
        self.b = rtcstate.PeerConnection(config)
        self.channel = self.a.createDataChannel("x")
        self.recovery: rtcstate.Recovery | None = None
        self._restarted = False

    async def setup(self) -> None:
        await connect(self.a, self.b, link=self.link)
        await until(lambda: self.channel.readyState == "open", "the channel to open")
        if self.policy == "recover":
            self.recovery = rtcstate.recover(self.a, self.renegotiate)
        else:
            self.a.on("connectionstatechange", self._on_change)

    def _on_change(self) -> None:
        # the browser pattern: pc.onconnectionstatechange = () => { if failed:
        # pc.restartIce(); renegotiate() }
        if self.a.connectionState == "failed" and not self._restarted:
            self._restarted = True
            self.a.restartIce()
            self.spawn(self.renegotiate())

    async def renegotiate(self) -> None:
        await negotiate(self.a, self.b, link=self.link)
        self.round.applied = asyncio.get_running_loop().time()

    def connected(self) -> bool:
        return self.a.connectionState == self.b.connectionState == "connected"

    def finish(self) -> None:
        r = self.round
        r.states = [
            (c.time, str(c.current))
            for c in self.a.state_history
            if c.attribute == "connectionState"
        ]
        r.disconnected, r.failed = r.first("disconnected"), r.first("failed")
        r.restart = next(
            (
                c.time
                for c in self.a.transport_history
                if c.time >= r.moved and (c.detail or "").startswith("ICE restart")
            ),
            None,
        )
        r.connected = r.first("connected")
        b_connected = next(
            (
                c.time
                for c in self.b.state_history
                if c.attribute == "connectionState"
                and c.time >= r.moved
                and c.current == "connected"
            ),
            None,
        )
        if r.connected is not None and b_connected is not None:
            r.both = max(r.connected, b_connected)
        if self.recovery is not None:
            r.attempts = len(self.recovery.attempts)
        elif self._restarted:
            r.attempts = 1

    async def close(self) -> None:
        if self.recovery is not None:
            self.recovery.stop()
            await self.recovery.wait_stopped()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(self.a.close(), self.b.close())


class Recorded(Libwebrtc):
    """The tests' libwebrtc adapter for `negotiate`
    (tests/support/libwebrtc.py), recording its `connectionState` changes."""

    def __init__(self) -> None:
        super().__init__(libwebrtc_peer())
        self.states: list[tuple[float, str]] = []
        loop = asyncio.get_running_loop()
        self.pc.on(
            "connectionstatechange",
            lambda _e: self.states.append(
                (loop.time(), str(self.pc.connection_state.value))
            ),
        )

    @property
    def state(self) -> str:
        return str(self.pc.connection_state.value)


class LibwebrtcPair(Pair):
    def __init__(self, link: FaultyLink) -> None:
        super().__init__(link)
        self.a, self.b = Recorded(), Recorded()
        self.channel = self.a.pc.create_data_channel("x")
        self._restarted = False

    async def setup(self) -> None:
        await negotiate(self.a, self.b, link=self.link)
        await until(
            lambda: self.connected() and self.channel.ready_state.value == "open",
            "libwebrtc to connect",
        )
        self.a.pc.on("connectionstatechange", self._on_change)

    def _on_change(self, _event: object) -> None:
        if self.a.state == "failed" and not self._restarted:
            self._restarted = True
            self.round.restart = asyncio.get_running_loop().time()
            self.a.pc.restart_ice()
            self.spawn(self.renegotiate())

    async def renegotiate(self) -> None:
        await negotiate(self.a, self.b, link=self.link)
        self.round.applied = asyncio.get_running_loop().time()

    def connected(self) -> bool:
        return self.a.state == self.b.state == "connected"

    def finish(self) -> None:
        r = self.round
        r.states = list(self.a.states)
        r.disconnected, r.failed = r.first("disconnected"), r.first("failed")
        # from failed, libwebrtc reads disconnected again once the restart's
        # description is applied: connected is the first one after the restart
        r.connected = next(
            (
                t
                for t, s in r.states
                if t >= (r.restart or r.moved) and s == "connected"
            ),
            None,
        )
        b_connected = next(
            (
                t
                for t, s in self.b.states
                if t >= (r.restart or r.moved) and s == "connected"
            ),
            None,
        )
        if r.connected is not None and b_connected is not None:
            r.both = max(r.connected, b_connected)
        r.attempts = int(self._restarted)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.a.pc.close()
        self.b.pc.close()


async def until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not condition():
        if loop.time() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


VARIANTS = {
    "recover": "rtcstate, recover() with its defaults (grace 0.5 s)",
    "on-failed": "rtcstate, restartIce() from a handler on failed",
    "libwebrtc": "libwebrtc both sides, restart_ice() on its own failed",
}
#: seconds a round waits, from the move, for every pair to be connected again
WAIT = {"recover": 15.0, "on-failed": 40.0, "libwebrtc": 45.0}


async def one_round(variant: str, pairs: int, rng: random.Random) -> list[Round]:
    loop = asyncio.get_running_loop()
    made: list[Pair] = []
    links: list[FaultyLink] = []
    try:
        for _ in range(pairs):
            link = await FaultyLink().start()
            links.append(link)
            pair: Pair = (
                LibwebrtcPair(link)
                if variant == "libwebrtc"
                else RtcstatePair(link, variant)
            )
            made.append(pair)
            await pair.setup()
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        moved = loop.time()
        for pair in made:
            pair.round.moved = moved
            await pair.link.move()
        # wait for connected after the restart, not before it (times come from
        # the histories and handlers, not from this poll)
        for _ in range(int(WAIT[variant] / 0.01)):
            if all(p.connected() and p.round.applied is not None for p in made):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the last events in
        for pair in made:
            pair.finish()
        return [p.round for p in made]
    finally:
        for pair in made:
            with contextlib.suppress(Exception):
                await pair.close()
        for link in links:
            link.close()


def span(rounds: list[Round], start: str, end: str) -> list[float]:
    out = []
    for r in rounds:
        a, b = getattr(r, start), getattr(r, end)
        if a is not None and b is not None:
            out.append(b - a)
    return out


def line(label: str, values: list[float], of: int, unit: str = "s") -> str:
    if not values:
        return f"    {label:32} -"
    scale, fmt = (1000.0, ".0f") if unit == "ms" else (1.0, ".2f")
    med, low, high = (scale * x for x in (statistics.median(values), *minmax(values)))
    seen = "" if len(values) == of else f"  ({len(values)} of {of})"
    return (
        f"    {label:32} median {med:{fmt}} {unit} "
        f"(min {low:{fmt}}, max {high:{fmt}}){seen}"
    )


def minmax(values: list[float]) -> tuple[float, float]:
    return min(values), max(values)


def report(variant: str, rounds: list[Round], pairs: int) -> None:
    n = len(rounds)
    print(f"  {VARIANTS[variant]}: {n // pairs} rounds x {pairs} pair(s)")
    print(line("move -> connected", span(rounds, "moved", "connected"), n))
    print(line("move -> both connected", span(rounds, "moved", "both"), n))
    print(line("move -> disconnected", span(rounds, "moved", "disconnected"), n))
    if variant == "recover":
        print(
            line(
                "disconnected -> restart began",
                span(rounds, "disconnected", "restart"),
                n,
                unit="ms",
            )
        )
    else:
        print(line("move -> failed", span(rounds, "moved", "failed"), n))
        print(
            line(
                "failed -> restart began",
                span(rounds, "failed", "restart"),
                n,
                unit="ms",
            )
        )
    print(
        line(
            "restart began -> connected",
            span(rounds, "restart", "connected"),
            n,
            unit="ms",
        )
    )
    print(
        line(
            "answer applied -> connected",
            span(rounds, "applied", "connected"),
            n,
            unit="ms",
        )
    )
    odd = [
        r for r in rounds if r.connected is None or r.attempts != 1 or r.applied is None
    ]
    if odd:
        print(f"    ! {len(odd)} of {n} not back after one restart:")
        for r in odd:
            states = ", ".join(f"{s} {t - r.moved:.2f}" for t, s in r.states)
            print(f"      attempts {r.attempts}: {states}")


async def main(rounds: int, failed_rounds: int, pairs: int, seed: int) -> None:
    rng = random.Random(seed)
    slow = ["on-failed"] + (["libwebrtc"] if webrtc is not None else [])
    # the slow variants' rounds spread evenly among the recover() rounds
    slow_at = {i * rounds // failed_rounds for i in range(failed_rounds)}
    results: dict[str, list[Round]] = {v: [] for v in ["recover", *slow]}
    print(
        f"# rtcstate {rtcstate.__version__}: permanent path move (FaultyLink.move()) "
        f"-> connected, default LivenessConfig, 127.0.0.1, seed {seed}",
        flush=True,
    )
    for i in range(rounds):
        results["recover"] += await one_round("recover", pairs, rng)
        if i in slow_at:
            for variant in slow:
                results[variant] += await one_round(variant, pairs, rng)
        print(f"  round {i + 1}/{rounds} done", flush=True)
    print()
    for variant, got in results.items():
        report(variant, got, pairs)
    if webrtc is None:
        print("  libwebrtc: skipped (wrtc is not installed)")
    base = span(results["recover"], "moved", "connected")
    if base:
        for variant in slow:
            other = span(results[variant], "moved", "connected")
            if other:
                ratio = statistics.median(other) / statistics.median(base)
                print(
                    f"  ratio {variant}/recover of move -> connected medians: "
                    f"{ratio:.1f}"
                )
        verdict = "met" if statistics.median(base) <= 3.0 else "NOT met"
        print(f"  target: recover() move -> connected median <= 3 s: {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rounds", type=int, default=12, help="moves with recover() (about 5 s each)"
    )
    parser.add_argument(
        "--failed-rounds",
        type=int,
        default=4,
        help="moves with each restart-on-failed variant (about 20 s each), spread "
        "among the recover() rounds",
    )
    parser.add_argument(
        "--pairs", type=int, default=1, help="pairs moved at once in each round"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the move phases")
    args = parser.parse_args()
    if not 1 <= args.failed_rounds <= args.rounds or args.pairs < 1:
        parser.error("need 1 <= --failed-rounds <= --rounds and --pairs >= 1")
    if webrtc is not None:
        webrtc.allow_loopback()
    asyncio.run(main(args.rounds, args.failed_rounds, args.pairs, args.seed))
