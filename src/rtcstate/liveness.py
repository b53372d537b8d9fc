"""Liveness of one ICE transport's selected pair: a sans-IO core.

Theory of operation
-------------------
Consent to send (RFC 7675) is proven only by answers to our own keepalives (ICE
binding requests on the selected pair): an answer shows that the path works both
ways. Every other packet from the remote (its own checks, DTLS, SCTP, RTP) only
shows that the path works towards us; it is a hint to ask again at once.

The monitor never reads a clock, never sleeps and never sends: like aioquic's
connection, it is driven with an explicit `now` by

* [`LivenessMonitor.answer_received`][rtcstate.liveness.LivenessMonitor.answer_received]
  for an answer to one of our keepalives,
* [`LivenessMonitor.packet_received`][rtcstate.liveness.LivenessMonitor.packet_received]
  for any other packet from the remote,
* [`LivenessMonitor.get_timer`][rtcstate.liveness.LivenessMonitor.get_timer] /
  [`LivenessMonitor.handle_timer`][rtcstate.liveness.LivenessMonitor.handle_timer],
  which the I/O layer arms with `loop.call_at` and fires when due,
* [`LivenessMonitor.next_event`][rtcstate.liveness.LivenessMonitor.next_event], which
  hands out what to do: send a keepalive, or report a new
  [`Liveness`][rtcstate.Liveness].

Time since the last answer decides everything:

| no answer for             | the monitor                                        |
| ------------------------- | -------------------------------------------------- |
| >= `keepalive_interval`   | sends one keepalive (the healthy pace)             |
| >= `probe_after`          | probes every `probe_interval`                      |
| >= `disconnected_timeout` | says `disconnected`; probes every                  |
|                           | `disconnected_probe_interval`                      |
| >= `failed_timeout`       | says `failed`, terminal: stops sending (RFC 7675)  |

An answer at any point starts over (and `disconnected` becomes `alive`). A
packet from the remote while probing or disconnected triggers a probe at once
(at most one per `probe_interval`), so a restored path is seen within a round
trip. An idle but present remote answers every keepalive, so it never looks gone.

Before a pair is selected there is nothing to send keepalives on, but checks can run
forever (aioice alone does, for example against wrong ICE credentials).
[`ChecksDeadline`][rtcstate.liveness.ChecksDeadline] bounds them, as libwebrtc does:
checks that find no working pair within `failed_timeout` say `failed`.

Both say `failed` with a [`LivenessChanged`][rtcstate.liveness.LivenessChanged] event:
consent expired (or was never won), and the I/O layer stops sending to the remote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .states import Liveness

__all__ = [
    "ChecksDeadline",
    "KeepaliveDue",
    "LivenessChanged",
    "LivenessConfig",
    "LivenessMonitor",
]


@dataclass(frozen=True)
class LivenessConfig:
    """Timers of the liveness monitor, in seconds.

    :ivar keepalive_interval: silence after which a keepalive is sent while healthy
        (so an idle remote costs at most one request per this interval).
    :ivar probe_after: silence after which keepalives speed up (the last one may
        have been lost).
    :ivar probe_interval: between keepalives once silent, until `disconnected`.
    :ivar disconnected_probe_interval: between keepalives while disconnected.
    :ivar disconnected_timeout: silence that reports `disconnected`.
    :ivar failed_timeout: silence that reports `failed`.
    :ivar stall_tolerance: a timer firing later than this means the event loop
        was blocked; the blocked time is not counted as silence, since nothing
        could be sent or read meanwhile (packets that did wait in the socket
        are read before the timer runs).
    :ivar keepalive_grid: healthy keepalives go out on multiples of this on the
        event loop's clock, so the connections of one process share wake-ups
        (on a virtual machine a wake-up can cost more than the packets it
        sends). `None`, the default, is a tenth of `keepalive_interval`.
        Steady state stays exactly `keepalive_interval` apart; the
        first after a probe moves by at most half a step. Keep
        `keepalive_interval + keepalive_grid / 2 < probe_after`, or the
        healthy keepalive falls back to `probe_after`.
    :raises ValueError: unless every value is a positive finite number,
        `keepalive_interval < probe_after < disconnected_timeout < failed_timeout`
        and neither probe interval nor the grid exceeds `keepalive_interval`.
    """

    keepalive_interval: float = 1.0
    probe_after: float = 1.2
    probe_interval: float = 0.05
    disconnected_probe_interval: float = 0.25
    disconnected_timeout: float = 2.0
    failed_timeout: float = 15.0
    stall_tolerance: float = 0.5
    keepalive_grid: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "keepalive_interval",
            "probe_after",
            "probe_interval",
            "disconnected_probe_interval",
            "disconnected_timeout",
            "failed_timeout",
            "stall_tolerance",
            "keepalive_grid",
        ):
            value = getattr(self, name)
            if name == "keepalive_grid" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"LivenessConfig.{name} must be a number, not {value!r}"
                )
            if not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"LivenessConfig.{name} must be positive, not {value!r}"
                )
        order = (
            self.keepalive_interval,
            self.probe_after,
            self.disconnected_timeout,
            self.failed_timeout,
        )
        if not order[0] < order[1] < order[2] < order[3]:
            raise ValueError(
                "LivenessConfig: need keepalive_interval < probe_after < "
                "disconnected_timeout < failed_timeout, got "
                + ", ".join(map(str, order))
            )
        for name in ("probe_interval", "disconnected_probe_interval", "keepalive_grid"):
            if (getattr(self, name) or 0) > self.keepalive_interval:
                raise ValueError(
                    f"LivenessConfig.{name} ({getattr(self, name)}) must not exceed "
                    f"keepalive_interval ({self.keepalive_interval})"
                )


@dataclass(frozen=True)
class KeepaliveDue:
    """Send one keepalive (a STUN binding request) on the selected pair now."""


@dataclass(frozen=True)
class LivenessChanged:
    """The verdict changed; `failed` means consent expired: stop sending."""

    liveness: Liveness
    reason: str


Event = KeepaliveDue | LivenessChanged


class LivenessMonitor:
    """Decides `alive` / `disconnected` / `failed` for one selected pair.

    :param config: the timers.
    :param now: the time the pair was selected (it counts as an answer).
    """

    def __init__(self, config: LivenessConfig, now: float) -> None:
        self._config = config
        self._last_answer = now
        self._last_packet = now
        self._last_sent: float | None = None
        self._liveness = Liveness.ALIVE
        self._events: list[Event] = []  # rarely more than one

    @property
    def liveness(self) -> Liveness:
        return self._liveness

    @property
    def last_answer(self) -> float:
        """When the last answer to a keepalive arrived."""
        return self._last_answer

    def answer_received(self, now: float) -> None:
        """An answer to one of our keepalives arrived: the path works both ways."""
        if self._liveness is Liveness.FAILED:
            return  # terminal until an ICE restart
        quiet = now - self._last_answer
        self._last_answer = max(self._last_answer, now)
        self._last_packet = max(self._last_packet, now)
        if self._liveness is Liveness.DISCONNECTED:
            self._set(Liveness.ALIVE, f"answers again after {quiet:.1f} s")

    def path_lost(self, now: float, reason: str) -> None:
        """The operating system said the path cannot work any more (its local
        address went away): disconnected now, not after the silence, and a
        probe at once, in case it still works. `failed` still comes from the
        silence, `failed_timeout` after the last answer."""
        if self._liveness is not Liveness.ALIVE:
            return  # disconnected already, or failed
        self._set(Liveness.DISCONNECTED, reason)
        self._send(now)

    def packet_received(self, now: float) -> None:
        """Any other packet from the remote arrived on the selected pair."""
        if self._liveness is Liveness.FAILED:
            return
        self._last_packet = max(self._last_packet, now)
        c = self._config
        probing = (
            self._liveness is Liveness.DISCONNECTED
            or now >= self._last_answer + c.probe_after
        )
        if probing and (
            self._last_sent is None or now >= self._last_sent + c.probe_interval
        ):
            self._send(now)

    def _next_keepalive(self) -> float:
        c = self._config
        answered, sent = self._last_answer, self._last_sent
        if self._liveness is Liveness.DISCONNECTED:
            return (sent or answered) + c.disconnected_probe_interval
        probe_start = answered + c.probe_after
        if sent is not None and sent >= probe_start:
            return sent + c.probe_interval
        # The healthy pace, on the process-wide grid: one interval after the
        # last keepalive (or the answer, before the first), moved to the nearest
        # grid point. Sent on a grid point, the next is exactly one interval
        # later; every connection of the process fires on the same few points.
        step = c.keepalive_grid or c.keepalive_interval / 10
        start = (answered if sent is None else sent) + c.keepalive_interval
        healthy = math.ceil((start - step / 2) / step) * step
        return min(healthy, probe_start)

    def get_timer(self) -> float | None:
        """When [`handle_timer`][rtcstate.liveness.LivenessMonitor.handle_timer] must
        next run, or `None` once failed."""
        if self._liveness is Liveness.FAILED:
            return None
        c = self._config
        timeout = (
            c.disconnected_timeout
            if self._liveness is Liveness.ALIVE
            else c.failed_timeout
        )
        return min(self._next_keepalive(), self._last_answer + timeout)

    def handle_timer(self, now: float) -> None:
        """Advance to `now`: queue the verdicts and the keepalive that are due."""
        if self._liveness is Liveness.FAILED:
            return
        c = self._config
        due = self.get_timer()
        if due is not None and now - due > c.stall_tolerance:
            # The loop was blocked: that time is not evidence of anything, as
            # nothing could be sent or read. Ask the remote at once.
            self._last_answer = min(now, self._last_answer + (now - due))
            self._send(now)
            return
        # Deadlines as get_timer() computes them, so float rounding cannot make
        # a timer fire without its effect.
        if now >= self._last_answer + c.failed_timeout:
            self._set(Liveness.FAILED, f"{self._silence(now)}: consent expired")
            return
        if (
            now >= self._last_answer + c.disconnected_timeout
            and self._liveness is Liveness.ALIVE
        ):
            self._set(Liveness.DISCONNECTED, self._silence(now))
        if now >= self._next_keepalive():
            self._send(now)

    def _silence(self, now: float) -> str:
        # the rule that fired (time since the last answer), and the evidence
        # beside it: packets still arriving mean a one-way cut
        quiet = now - self._last_answer
        since = now - self._last_packet
        return f"no answer for {quiet:.1f} s (last packet {since:.1f} s ago)"

    def _send(self, now: float) -> None:
        self._last_sent = now
        self._events.append(KeepaliveDue())

    def next_event(self) -> Event | None:
        """The oldest pending event, or `None`."""
        return self._events.pop(0) if self._events else None

    def _set(self, liveness: Liveness, reason: str) -> None:
        self._liveness = liveness
        self._events.append(LivenessChanged(liveness, reason))


class ChecksDeadline:
    """Bounds the checking phase of one ICE transport, as libwebrtc does.

    Same interface as [`LivenessMonitor`][rtcstate.liveness.LivenessMonitor]; it only
    ever says `failed`.

    :param config: its `failed_timeout` is the bound.
    :param now: when the checks started.
    """

    def __init__(self, config: LivenessConfig, now: float) -> None:
        self._timeout = config.failed_timeout
        self._deadline: float | None = now + config.failed_timeout
        self._events: list[Event] = []

    def answer_received(self, now: float) -> None:
        """Nothing to do: there is no selected pair yet."""

    def packet_received(self, now: float) -> None:
        """Nothing to do: there is no selected pair yet."""

    def get_timer(self) -> float | None:
        """When `handle_timer` must run, or `None` once it said failed."""
        return self._deadline

    def handle_timer(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._events.append(
                LivenessChanged(
                    Liveness.FAILED,
                    f"no working candidate pair after {self._timeout:.1f} s of checks",
                )
            )

    def next_event(self) -> Event | None:
        """The oldest pending event, or `None`."""
        return self._events.pop(0) if self._events else None
