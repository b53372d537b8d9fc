"""rtcstate's own soak: many pairs under random, seeded faults from
`rtcstate.testing.fault_schedule`, each pair's state path checked against the
rules and its end against what its faults imply (`tests/test_soak.py` runs it
short, `benchmarks/reliability/soak.py` at length)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration

from rtcstate import LivenessConfig, PeerConnection, StateChange
from rtcstate._recovery import Recovery, RecoveryAttempt, recover
from rtcstate.rules import is_valid_transition
from rtcstate.testing import (
    Fault,
    FaultyLink,
    RecoverySettings,
    apply_faults,
    connect,
    expected_end,
    fault_schedule,
    negotiate,
)

__all__ = ["SoakResult", "soak"]


@dataclass
class SoakResult:
    """What one pair of a `soak` did."""

    index: int
    faults: list[Fault]
    expected: str
    """the state its faults imply at the end: `failed` or `connected` (under a
    recovery policy: `closed` or `connected`, see
    [`expected_end`][rtcstate.testing.expected_end])"""
    final: str = ""
    history: list[StateChange] = field(default_factory=list)
    """the offerer's state history"""
    invalid: list[str] = field(default_factory=list)
    """changes that are not a transition of the state graph"""
    errors: list[str] = field(default_factory=list)
    """what was raised (`"error"` events, the loop's exception handler)"""
    answerer_final: str = ""
    """the answerer's connectionState at the end (recovery soak only)"""
    answerer_history: list[StateChange] = field(default_factory=list)
    """the answerer's state history (recovery soak only)"""
    attempts: list[RecoveryAttempt] = field(default_factory=list)
    """the recovery policy's attempts (recovery soak only)"""
    gave_up: str | None = None
    """why the recovery policy closed the connection, if it did"""
    settled: float | None = None
    """seconds from the end of the last fault (for a permanent cut, its start) to
    the offerer entering its final state; 0 when it never left it (recovery soak
    only; `None` without a fault)"""
    delivered: bool | None = None
    """a message sent at the end reached the answerer (recovery soak, pairs that
    ended `connected`)"""
    link_closed: bool = False
    """the pair's FaultyLink was closed at the end, every socket with it"""
    policy_ended: bool = False
    """the recovery policy's task ended once the connection was closed"""

    @property
    def ok(self) -> bool:
        return self.final == self.expected and not self.invalid and not self.errors


def _check_path(history: list[StateChange], who: str, invalid: list[str]) -> None:
    """Append to `invalid` each change of `history` that does not continue the
    attribute's previous value, or is not an edge of its graph."""
    last: dict[str, str] = {}
    for change in history:
        before = last.get(change.attribute, str(change.previous))
        if before != change.previous or not is_valid_transition(
            change.attribute, str(change.previous), str(change.current)
        ):
            invalid.append(f"{who}{change}")
        last[change.attribute] = str(change.current)


async def soak(
    pairs: int,
    seconds: float,
    seed: int,
    liveness: LivenessConfig,
    *,
    recovery: RecoverySettings | None = None,
    concurrency: int | None = None,
) -> list[SoakResult]:
    """Run `pairs` rtcstate pairs with `liveness`, each through its own
    [`FaultyLink`][rtcstate.testing.FaultyLink] with a
    [`fault_schedule`][rtcstate.testing.fault_schedule] of its own, for `seconds`.

    Each pair's offerer sends a data-channel message every 0.5 s. At the end
    each result says whether every recorded change was a transition of the
    state graph, what was raised, and whether the pair ended where its faults
    lead. `seed` makes the run reproducible (as far as timing allows).

    With `recovery`, the offerer of each pair runs [`recover`][rtcstate.recover]
    with those settings (its renegotiation is
    [`negotiate`][rtcstate.testing.negotiate] through the link), the schedules
    move paths and have outages, and each pair runs on its own clock:
    `concurrency` pairs at a time (all at once by default), each connected, played
    its `seconds`, checked and closed before the next starts. Both peers' paths are
    checked, the policy's attempts are recorded, a pair that ended `connected` must
    carry a message, and the pair's link and policy must be closed and ended.
    """
    if recovery is None:
        return await _plain_soak(pairs, seconds, seed, liveness)
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency!r}")
    rng = random.Random(seed)
    plans = []
    for index in range(pairs):
        faults = fault_schedule(rng, seconds, liveness, recovery=recovery)
        result = SoakResult(index, faults, expected_end(faults, recovery=True))
        plans.append((result, rng.randrange(2**32)))
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(
        lambda _loop, context: loop_errors.append(f"{loop.time():.2f} {context}")
    )
    slots = asyncio.Semaphore(concurrency or pairs)

    async def run(result: SoakResult, link_seed: int) -> None:
        async with slots:
            try:
                await _recovering_pair(result, link_seed, seconds, liveness, recovery)
            except Exception as exc:  # the pair's failure is its result's, not all
                result.errors.append(f"soak: {exc!r}")

    try:
        await asyncio.gather(*(run(result, link_seed) for result, link_seed in plans))
    finally:
        loop.set_exception_handler(previous_handler)
    results = [result for result, _ in plans]
    if loop_errors:
        for result in results:
            result.errors += loop_errors
    return results


async def _recovering_pair(
    result: SoakResult,
    link_seed: int,
    seconds: float,
    liveness: LivenessConfig,
    settings: RecoverySettings,
) -> None:
    """One pair of a recovery soak, from connecting to closing."""
    loop = asyncio.get_running_loop()
    link = await FaultyLink(seed=link_seed).start()
    a = PeerConnection(RTCConfiguration(iceServers=[]), liveness=liveness)
    b = PeerConnection(RTCConfiguration(iceServers=[]), liveness=liveness)
    policy: Recovery | None = None
    received: list[str] = []

    def on_error(error: BaseException) -> None:
        result.errors.append(repr(error))

    @b.on("datachannel")
    def on_datachannel(channel: Any) -> None:
        channel.on("message", received.append)

    try:
        a.on("error", on_error)
        b.on("error", on_error)
        channel = a.createDataChannel("soak")
        channel.on("open", lambda: _chatter(channel))
        await connect(a, b, link=link, timeout=15)

        async def renegotiate() -> None:
            await negotiate(a, b, link=link)

        policy = recover(
            a,
            renegotiate,
            grace=settings.grace,
            attempts=settings.attempts,
            backoff=settings.backoff,
            timeout=settings.timeout,
        )
        start = loop.time()
        await apply_faults(link, result.faults, start)
        await asyncio.sleep(max(0.0, start + seconds - loop.time()))
        result.final = str(a.connectionState)
        result.answerer_final = str(b.connectionState)
        result.history = a.state_history
        result.answerer_history = b.state_history
        result.attempts = list(policy.attempts)
        result.gave_up = policy.gave_up
        if result.faults:
            last_fault = start + max(f.ends for f in result.faults)
            entered = [
                c.time
                for c in result.history
                if c.attribute == "connectionState" and c.current == result.final
            ]
            result.settled = round(max(0.0, entered[-1] - last_fault), 3)
        _check_path(result.history, "", result.invalid)
        _check_path(result.answerer_history, "answerer: ", result.invalid)
        if result.final == "connected":
            channel.send("last")
            for _ in range(100):  # bounded: 2 s
                if "last" in received:
                    break
                await asyncio.sleep(0.02)
            result.delivered = "last" in received
    finally:
        await a.close()
        await b.close()
        if policy is not None:
            try:
                await asyncio.wait_for(policy.wait_stopped(), 5)
            except TimeoutError:
                policy.stop()
                await policy.wait_stopped()
            else:
                result.policy_ended = True
        link.close()
        result.link_closed = link.closed


async def _plain_soak(
    pairs: int, seconds: float, seed: int, liveness: LivenessConfig
) -> list[SoakResult]:
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(
        lambda _loop, context: loop_errors.append(f"{loop.time():.2f} {context}")
    )
    results: list[SoakResult] = []
    peers: list[PeerConnection] = []
    links: list[FaultyLink] = []
    try:
        for index in range(pairs):
            faults = fault_schedule(rng, seconds, liveness)
            result = SoakResult(index, faults, expected_end(faults))
            results.append(result)
            link = await FaultyLink(seed=rng.randrange(2**32)).start()
            links.append(link)
            a = PeerConnection(RTCConfiguration(iceServers=[]), liveness=liveness)
            b = PeerConnection(RTCConfiguration(iceServers=[]), liveness=liveness)
            peers += [a, b]

            def on_error(error: BaseException, result: SoakResult = result) -> None:
                result.errors.append(repr(error))

            a.on("error", on_error)
            channel = a.createDataChannel("soak")
            channel.on("open", lambda channel=channel: _chatter(channel))
            await negotiate(a, b, link=link)
        for a in peers[::2]:
            await a.wait_for_connection_state("connected", timeout=15)
        start = loop.time()
        await asyncio.gather(
            *(
                apply_faults(link, r.faults, start)
                for link, r in zip(links, results, strict=True)
            )
        )
        await asyncio.sleep(max(0.0, start + seconds - loop.time()))
        for result, a in zip(results, peers[::2], strict=True):
            result.final = str(a.connectionState)
            result.history = a.state_history
            _check_path(result.history, "", result.invalid)
    finally:
        for pc in peers:
            await pc.close()
        for link in links:
            link.close()
        for result, link in zip(results, links, strict=False):
            result.link_closed = link.closed
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
