"""Random, seeded faults for a link, played on a `FaultyLink`, and where and
within how long a pair under them settles."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..liveness import LivenessConfig
from .link import FaultyLink
from .timers import RecoverySettings

# --- faults at random -------------------------------------------------------------


@dataclass
class Fault:
    """One fault of a schedule: `kind` from `at` seconds for `duration`.

    `kind` is `"cut"` (both directions), `"oneway"` (`detail` names the
    direction), `"loss"` (`detail` is the rate), `"delay"` (`detail` in
    seconds) or `"permanent"` (a cut that is never restored). Schedules drawn
    for a recovery policy also have `"move"` (the path moves for good,
    [`FaultyLink.move`][rtcstate.testing.FaultyLink.move]; `duration` is 0) and
    `"outage"` (a cut long enough to read `failed` even with the loop's timers late
    by up to `stall_tolerance`, then restored).
    """

    at: float
    kind: str
    duration: float
    detail: Any = None

    def __str__(self) -> str:
        extra = f" {self.detail}" if self.detail is not None else ""
        return f"{self.at:6.2f}s {self.kind}{extra} for {self.duration:.2f}s"

    @property
    def ends(self) -> float:
        """When the link is whole again (or, for a permanent cut, when it began)."""
        return self.at if self.kind == "permanent" else self.at + self.duration


class SettleBounds(NamedTuple):
    """Seconds after a schedule's last fault ends (a heal, a move, or the start of
    a permanent cut) within which a pair under a recovery policy has settled (see
    [`settle_bounds`][rtcstate.testing.settle_bounds])."""

    connected: float
    """`connected` again, after a schedule that lets the policy recover"""
    closed: float
    """closed by the policy, which gave up, after a cut left in place"""


def settle_bounds(liveness: LivenessConfig, recovery: RecoverySettings) -> SettleBounds:
    """How long a pair under `recovery` takes to settle after the last fault.

    `connected`: once the link is whole, an attempt that began while it was not
    ends (consent expires after `liveness.failed_timeout`, or the attempt's
    `timeout` passes), the longest back-off passes, and the next attempt's restart
    connects within its `timeout`; a path moved at the end is noticed and restarted
    after `disconnected_timeout + grace`. Plus 0.5 s.

    `closed`: the policy's whole reach: the loss noticed, the grace period, every
    attempt timing out and every back-off, plus 1 s for the close.
    """
    backoffs = [recovery.backoff * 2.0**n for n in range(recovery.attempts - 1)]
    noticed = liveness.disconnected_timeout + recovery.grace
    one_failed = min(recovery.timeout, liveness.failed_timeout)
    return SettleBounds(
        connected=max(noticed, one_failed)
        + max(backoffs, default=0.0)
        + recovery.timeout
        + 0.5,
        closed=noticed + recovery.attempts * recovery.timeout + sum(backoffs) + 1.0,
    )


def _outage_limit(liveness: LivenessConfig, recovery: RecoverySettings) -> float:
    """The longest outage the policy surely outlasts: the earliest its last attempt
    can start (seconds after the cut), less 0.5 s for that attempt's checks.

    At the earliest, the last packet came a keepalive interval before the cut, the
    first attempt starts `disconnected_timeout + grace` after it, and consent expires
    `failed_timeout` after it. An attempt ends when its `timeout` passes or when
    consent expires (`failed`), whichever comes first; a restart begun from `failed`
    gives the new path a `failed_timeout` of its own. Back-offs come between.
    """
    if recovery.attempts < 2:
        return 0.0
    last_packet = -liveness.keepalive_interval
    expires = last_packet + liveness.failed_timeout
    start = last_packet + liveness.disconnected_timeout + recovery.grace
    for number in range(1, recovery.attempts):
        if expires <= start:  # restarted from failed
            expires = start + liveness.failed_timeout
        end = min(start + recovery.timeout, expires)
        start = end + recovery.backoff * 2.0 ** (number - 1)
    return start - 0.5


def fault_schedule(
    rng: random.Random,
    seconds: float,
    liveness: LivenessConfig,
    *,
    recovery: RecoverySettings | None = None,
) -> list[Fault]:
    """Random faults for one link over `seconds`, drawn from `rng`.

    Every temporary fault is short enough that it can never reach
    `liveness.failed_timeout`, and the link has time to recover after each;
    about one schedule in three ends with a permanent cut, early enough to
    reach `failed`. The same `rng` state gives the same schedule.

    With `recovery` (the pair runs [`recover`][rtcstate.recover] with those
    settings) the schedule also moves the path (`"move"`: only an ICE restart
    gets through again) and has outages (`"outage"`: a cut that reaches
    `failed`, restored before the policy's last attempt can start, so that this
    attempt finds the link whole). After either, the next fault waits until the
    policy is done with it. The last temporary fault ends
    [`settle_bounds`][rtcstate.testing.settle_bounds]`.connected` before the end;
    a permanent cut (about one schedule in three, after the temporary faults)
    starts `settle_bounds.closed` before the end, for the policy to give up and
    close in time. Without `recovery` the schedule is drawn exactly as before.
    """
    if recovery is None:
        return _plain_schedule(rng, seconds, liveness)
    faults: list[Fault] = []
    limit = liveness.failed_timeout
    bounds = settle_bounds(liveness, recovery)
    # long enough to read failed even when the loop runs the timer late by as
    # much as it still counts as silence (stall_tolerance; 0.2 s was too little
    # for the recovery soak, once, under 4 workers)
    outage = (limit + liveness.stall_tolerance, _outage_limit(liveness, recovery))
    kinds = ["cut", "oneway", "loss", "delay", "move"]
    if outage[0] < outage[1]:
        kinds.append("outage")
    # after a move or an outage, the policy's episode: noticed, a failed attempt,
    # back-offs, the restart
    episode = bounds.connected
    permanent = rng.random() < 0.3 and seconds > bounds.closed + 1.0
    end = seconds - (bounds.closed if permanent else bounds.connected)
    t = rng.uniform(0.2, 1.0) * liveness.disconnected_timeout
    while True:
        kind = rng.choice(kinds)
        gap = rng.uniform(0.3, 1.5) * liveness.disconnected_timeout
        if kind == "move":
            duration = 0.0
            gap += episode
        elif kind == "outage":
            duration = rng.uniform(*outage)
            gap += episode
        else:
            duration = rng.uniform(0.1, 0.6) * (limit - liveness.keepalive_interval)
        if t + duration > end:
            break
        detail = _detail(rng, kind)
        faults.append(Fault(round(t, 3), kind, round(duration, 3), detail))
        t += duration + gap
    if permanent:
        faults.append(Fault(round(max(min(t, end), 0.5), 3), "permanent", seconds))
    return faults


def _detail(rng: random.Random, kind: str) -> Any:
    """A fault's detail: the direction, the loss rate or the delay, drawn."""
    if kind == "oneway":
        return rng.choice(["to_answerer", "to_offerer"])
    if kind == "loss":
        return rng.choice([0.1, 0.3])
    if kind == "delay":
        return round(rng.uniform(0.02, 0.1), 3)
    return None


def _plain_schedule(
    rng: random.Random, seconds: float, liveness: LivenessConfig
) -> list[Fault]:
    faults: list[Fault] = []
    limit = liveness.failed_timeout
    settle = liveness.disconnected_timeout + 1.0
    permanent = rng.random() < 0.3 and seconds > limit + settle + 2
    end = seconds - (limit + settle + 1 if permanent else settle)
    t = rng.uniform(0.2, 1.0) * liveness.disconnected_timeout
    while True:
        kind = rng.choice(["cut", "oneway", "loss", "delay"])
        duration = rng.uniform(0.1, 0.6) * (limit - liveness.keepalive_interval)
        if t + duration > end:
            break
        detail = _detail(rng, kind)
        faults.append(Fault(round(t, 3), kind, round(duration, 3), detail))
        t += duration + rng.uniform(0.3, 1.5) * liveness.disconnected_timeout
    if permanent:
        faults.append(Fault(round(max(t, 0.5), 3), "permanent", seconds))
    return faults


def expected_end(faults: list[Fault], *, recovery: bool = False) -> str:
    """The state a schedule leads to: after a permanent cut `failed`, or, under a
    recovery policy, `closed` (recovery is impossible: every attempt meets the cut,
    and the policy gives up); `connected` otherwise."""
    if faults and faults[-1].kind == "permanent":
        return "closed" if recovery else "failed"
    return "connected"


async def apply_faults(link: FaultyLink, faults: list[Fault], start: float) -> None:
    """Play `faults` on `link`, each at `start + fault.at` (loop time), and
    undo each after its duration (all but a permanent cut; a move is for good)."""
    loop = asyncio.get_running_loop()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at - loop.time()))
        if fault.kind == "move":
            await link.move()
            continue
        if fault.kind in ("cut", "permanent", "outage"):
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
