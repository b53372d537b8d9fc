"""The thin asyncio layer that runs the sans-IO liveness of one ICE transport.

[`LivenessDriver`][rtcstate._driver.LivenessDriver] runs one sans-IO core
([`LivenessMonitor`][rtcstate.liveness.LivenessMonitor] on a selected pair, or
[`ChecksDeadline`][rtcstate.liveness.ChecksDeadline] before there is one): it feeds the
core every datagram from the remote and the answers to keepalives apart (seen
on the pair's socket), arms one `loop.call_at` timer at the core's
`get_timer()`, sends the keepalives the core asks for, and passes verdicts
on. Nothing here decides anything.

[`rtcstate._transport_liveness`][] runs the cores of one ICE transport in turn.

This runs inside aioice's datagram path and on the loop's timers, so an
exception of its own (or of a core, or of the pair) must not escape into either:
liveness stops for that transport, the datagram still reaches aioice, aioice's
own consent checks are given back, and `on_fault` is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from ._tap import SelectedPair
from .liveness import (
    Event,
    KeepaliveDue,
)
from .states import Liveness

__all__ = ["Core", "LivenessDriver"]

logger = logging.getLogger("rtcstate")


class Core(Protocol):
    """The sans-IO interface
    [`LivenessDriver`][rtcstate._driver.LivenessDriver] runs."""

    def answer_received(self, now: float) -> None: ...
    def packet_received(self, now: float) -> None: ...
    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...
    def next_event(self) -> Event | None: ...


class LivenessDriver:
    """Runs one sans-IO core until [`stop`][rtcstate._driver.LivenessDriver.stop] or its
    `failed` verdict.

    :param core: the monitor (or deadline) to run, created at the loop's time.
    :param pair: the selected pair to watch and send keepalives on, or `None`
        for a core that sends none.
    :param on_verdict: called with each new [`Liveness`][rtcstate.Liveness] and its
        reason.
    :param on_fault: called once, after the driver stopped itself, with an
        exception raised inside it (a bug, or an aioice that changed).
    :param on_switch: called when the pair followed aioice to another nominated
        pair (seen when a keepalive is sent).
    :param on_rtt: called with the round-trip time of each answered keepalive.
    """

    def __init__(
        self,
        core: Core,
        pair: SelectedPair | None,
        on_verdict: Callable[[Liveness, str], None],
        on_fault: Callable[[Exception], None],
        on_switch: Callable[[], None] | None = None,
        on_rtt: Callable[[float], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._pair = pair
        self._on_verdict = on_verdict
        self._on_fault = on_fault
        self._on_switch = on_switch
        self._on_rtt = on_rtt
        self._core = core
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = self._faulted = False
        self.keepalives_sent = 0  # read by tests that prove keepalives flowed
        self._measured = 0  # the pair's measured answers already reported
        if pair is not None:
            pair.watch(self._on_packet, self._on_answer, self._fault)
        self._arm()

    @property
    def pair(self) -> SelectedPair | None:
        return self._pair

    def stop(self) -> None:
        """Stop watching and sending. Idempotent."""
        self._stopped = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._pair is not None:
            self._pair.unwatch()

    def path_lost(self, reason: str) -> None:
        """The operating system says the pair's path is gone (see
        [`LivenessMonitor.path_lost`][rtcstate.liveness.LivenessMonitor.path_lost]);
        nothing for a core without that input (the checks' deadline)."""
        lost = getattr(self._core, "path_lost", None)
        if self._stopped or lost is None:
            return
        try:
            lost(self._loop.time(), reason)
            self._drain()
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self._arm()
        except Exception as exc:
            self._fault(exc)

    # A packet only moves the monitor's deadlines later: the armed timer may then
    # fire early, find nothing due and re-arm; no call_at per packet.
    def _on_packet(self, now: float) -> None:
        self._core.packet_received(now)
        self._drain()

    # An answer, though, comes once per keepalive and moves the timer from the
    # probe deadline to the next grid point: re-arm now, or every connection
    # would wake the loop once more per keepalive, off the grid.
    def _on_answer(self, now: float) -> None:
        pair: SelectedPair = self._pair  # type: ignore[assignment]  # watched: a pair
        self._core.answer_received(now)
        self._drain()
        measured = pair.responses_received  # an answer to the newest keepalive
        if measured != self._measured:
            self._measured = measured
            if self._on_rtt is not None and pair.current_rtt is not None:
                self._on_rtt(pair.current_rtt)
        if self._handle is not None and self._handle.when() != self._core.get_timer():
            self._handle.cancel()
            self._handle = None
            self._arm()

    def _fire(self) -> None:
        self._handle = None
        if self._stopped:
            return
        try:
            self._core.handle_timer(self._loop.time())
            self._drain()
            self._arm()
        except Exception as exc:
            self._fault(exc)

    def _fault(self, exc: Exception) -> None:
        if self._faulted:
            return
        self._faulted = True
        self.stop()
        try:
            self._on_fault(exc)
        except Exception:
            logger.exception("liveness: reporting an internal error failed")

    def _arm(self) -> None:
        if self._stopped or self._handle is not None:
            return
        when = self._core.get_timer()
        if when is not None:
            self._handle = self._loop.call_at(when, self._fire)

    def _drain(self) -> None:
        while not self._stopped and (event := self._core.next_event()) is not None:
            if isinstance(event, KeepaliveDue):
                pair = self._pair
                if pair is not None:
                    on = pair.pair  # the send follows aioice's nomination
                    if pair.send_keepalive():
                        self.keepalives_sent += 1
                    if pair.pair is not on and self._on_switch is not None:
                        self._on_switch()
            else:
                if event.liveness is Liveness.FAILED:
                    self.stop()
                self._on_verdict(event.liveness, event.reason)
