"""Wires one aiortc connection to the state machine, the liveness of its ICE
transports and the change feed.

Theory of operation
-------------------
The tracker owns four parts and decides nothing itself:

* [`Transports`][rtcstate._transports.Transports], the counted transports, which call
  [`StateTracker.update`][rtcstate._tracker.StateTracker.update] when one of them fires
  `"statechange"`;
* [`StateMachine`][rtcstate._machine.StateMachine], which turns the transports'
  snapshots into changes;
* one [`TransportLiveness`][rtcstate._transport_liveness.TransportLiveness] per
  ICE transport (kept by its [`TrackedIce`][rtcstate._tracked.TrackedIce]), whose
  verdicts come back through
  [`TransportReports.liveness_changed`][rtcstate._tracker.TransportReports.liveness_changed];
* [`ChangeFeed`][rtcstate._feed.ChangeFeed], which keeps and hands out the changes.

A step reads the snapshots, runs the machine, starts or stops liveness for the
new states, records the changes, wakes waiters and iterators, and finally fires
the events through `on_change` (transport changes first, then ICE, then the
connection). A change made by a handler during a step is queued and stepped
after it, so events always fire in order.

Never worse than aiortc: the entry points
([`StateTracker.update`][rtcstate._tracker.StateTracker.update], `sync_transports`,
`note`, `close`, and what `TransportReports` is told) are called from aiortc's
callbacks and signalling methods, so an exception of rtcstate's is logged there and
never raised into aiortc.
An exception in one transport's liveness switches liveness off for that transport
only: its state then follows aiortc, as with `liveness=None`, and its history says
why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

from ._events import (
    Cause,
    SelectedCandidatePair,
    StateChange,
    TransportChange,
)
from ._failsafe import InternalErrors, KeptTasks, fail_safe
from ._feed import ChangeFeed
from ._machine import StateMachine
from ._observers import Observers
from ._options import Options
from ._readout import Readout
from ._resend import resend_after_outage
from ._signalling import RestartSignalling
from ._tracked import TrackedIce
from ._transports import Transports
from .liveness import LivenessConfig
from .states import IceTransportState, Liveness

__all__ = ["StateTracker"]

logger = logging.getLogger("rtcstate")

Record = StateChange | TransportChange | SelectedCandidatePair
"""What a step reports: state changes, and selected candidate pair changes."""
# an ICE transport that reads connected or completed after one of these had no
# working path
_WORKING = frozenset({IceTransportState.CONNECTED, IceTransportState.COMPLETED})
_OUTAGE = frozenset(
    {
        IceTransportState.DISCONNECTED,
        IceTransportState.FAILED,
        IceTransportState.CHECKING,
    }
)


class StateTracker:
    """Derives `connectionState` / `iceConnectionState` for one connection.

    :param pc: the aiortc connection whose transports are read.
    :param on_change: called with each [`TransportChange`][rtcstate.TransportChange] and
        then each [`StateChange`][rtcstate.StateChange] of a step, ICE before connection
        when one step changes both, then with each
        [`SelectedCandidatePair`][rtcstate.SelectedCandidatePair] newly selected;
        never for `close()`.
    :param options: the front end's options (history size, liveness, loopback).
    :param clock: returns the time stamped on changes; the running loop's
        `time()` by default.
    """

    __slots__ = (
        "_clock",
        "_errors",
        "_feed",
        "_followup",
        "_machine",
        "_observers",
        "_on_change",
        "_options",
        "_pending",
        "_reports",
        "_signalling",
        "_tasks",
        "_transports",
        "_updating",
        "read",
    )

    def __init__(
        self,
        pc: RTCPeerConnection,
        on_change: Callable[[Record], object],
        options: Options,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._options = options
        self._on_change = on_change
        self._clock = clock or _loop_time
        self._machine = StateMachine()
        self._feed = ChangeFeed(options.history_size, self._machine.state)
        self._transports = Transports(
            pc, self.update, options.loopback, self.internal_error
        )
        self._tasks = KeptTasks()
        self._observers = Observers()
        self._reports = TransportReports(
            self, self._transports, self._observers, self._tasks, self._clock
        )
        self._signalling = RestartSignalling(
            self._transports,
            self._reports,
            options.loopback,
            (options.liveness or LivenessConfig()).failed_timeout,
        )
        self._updating = False
        self._errors = InternalErrors()
        self._pending: Cause | None = None
        self._followup: asyncio.Handle | None = None
        self.read = Readout(
            self._machine,
            self._transports,
            self._signalling,
            self._clock,
            self.internal_error,
        )
        """the states, selected pairs and stats, for the front ends"""
        self.sync_transports()

    # --- reading ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """`close()` was called (W3C `[[IsClosed]]`)."""
        return self._machine.closed

    @property
    def feed(self) -> ChangeFeed:
        """Histories, waiters and iterators of the changes."""
        return self._feed

    @property
    def signalling(self) -> RestartSignalling:
        """The ICE restarts and the signalling that begins them."""
        return self._signalling

    @property
    def observers(self) -> Observers:
        """What follows the connection beside its events."""
        return self._observers

    # --- inputs ---------------------------------------------------------------

    @fail_safe
    def sync_transports(self, detail: str | None = None) -> None:
        """Re-read which transports count, subscribe to new ones, drop old ones."""
        if self.closed:
            return
        changed = self._transports.sync()
        if changed:
            detail = detail or self._transports.describe()
        self.update(Cause("transports", detail=detail))

    @fail_safe
    def note(self, detail: str, transport: RTCIceTransport | None = None) -> None:
        """Record `detail` in `transport_history` for `transport`, or every ICE
        transport (a record whose state does not change): a recovery attempt's
        outcome, a restart that failed before the answer, liveness switched off."""
        if self.closed:
            return
        counted = self._transports.ice
        for ice in counted if transport is None else [transport]:
            if ice in counted:
                self._machine.note(ice, detail)
        label = None if transport is None else self._transports.label(transport)
        self.update(Cause("ice", label, detail=detail))

    async def drain(self) -> None:
        """Wait for the work liveness and restarts started to finish."""
        await self._tasks.drain()

    @fail_safe
    def close(self, detail: str | None = None) -> None:
        """The application called `close()`: both states become `closed` at
        once, with no event; nothing changes afterwards. `detail` says why
        when rtcstate closes it on the application's behalf."""
        if self.closed:
            return
        changes = self._machine.close(self._clock(), detail)
        self._feed.record([], changes)
        if self._observers:
            self._observers.tell("changes", [], changes)
        if self._followup is not None:
            self._followup.cancel()
            self._followup = None
        self._transports.close()  # stops each transport's liveness and restarts
        self._feed.publish(changes)
        self._feed.end()

    # --- the step -------------------------------------------------------------

    @fail_safe
    def update(self, cause: Cause) -> None:
        """Recompute both states; report what changed, ICE first."""
        if self.closed:
            return
        if self._updating:
            # A handler run synchronously by this step changed something: redo
            # the step after this one has finished reporting.
            self._pending = self._pending or cause
            return
        self._updating = True
        try:
            while True:
                self._step(cause)
                if self._pending is None or self.closed:
                    break
                cause, self._pending = self._pending, None
        finally:
            self._updating = False

    def _step(self, cause: Cause) -> None:
        ice, dtls = self._transports.snapshots()
        now = self._clock()
        machine = self._machine
        before = {t: machine.ice_transport_state(t) for t in ice}
        step = machine.step(ice, dtls, cause, now)
        selections: list[SelectedCandidatePair] = []
        config = self._options.liveness
        for transport, snap in ice.items():
            state = machine.ice_transport_state(transport)
            tracked = self._transports.tracked(transport)
            if state is None or tracked is None:
                continue
            if state in _WORKING and before[transport] in _OUTAGE:
                resend_after_outage(
                    self._transports.pc,
                    transport,
                    lambda: self.closed,
                    self.internal_error,
                )
            if config is not None:
                tracked.follow_liveness(config, self._reports, state, snap.native)
            if snap.native == "completed":
                selection = self._follow_selection(tracked, snap.label, now)
                if selection is not None:
                    selections.append(selection)
        self._feed.record(step.transport_changes, step.changes)
        if self._observers:
            if step.transport_changes or step.changes:
                self._observers.tell("changes", step.transport_changes, step.changes)
            for selection in selections:
                self._observers.tell("selected", selection)
        if step.followup and self._followup is None:
            self._followup = asyncio.get_running_loop().call_soon(self._run_followup)
        self._feed.publish(step.changes)
        # transport changes first: they are the causes of the aggregate ones
        events: list[Record] = [*step.transport_changes, *step.changes, *selections]
        for event in events:
            if self.closed:  # a handler closed the connection: nothing more fires
                break
            self._on_change(event)

    def _run_followup(self) -> None:
        self._followup = None
        self.update(Cause("ice", detail="one state at a time"))

    def _follow_selection(
        self, tracked: TrackedIce, label: str, now: float
    ) -> SelectedCandidatePair | None:
        """The newly selected pair of the transport, if aioice selected one (a
        first, or another) since the last step."""
        try:
            return tracked.newly_selected(label, now)
        except Exception as exc:  # an event is worth less than the states
            self.internal_error("selectedcandidatepairchange", exc)
            return None

    def internal_error(self, where: str, exc: Exception) -> None:
        self._errors(where, exc)


class TransportReports:
    """What each transport's liveness
    ([`LivenessOwner`][rtcstate._transport_liveness.LivenessOwner]) and restarts
    ([`RestartOwner`][rtcstate._restart.RestartOwner]) report to: one object
    per connection (not closures per transport), which steps the tracker."""

    __slots__ = ("_clock", "_observers", "_tasks", "_tracker", "_transports")

    def __init__(
        self,
        tracker: StateTracker,
        transports: Transports,
        observers: Observers,
        tasks: KeptTasks,
        clock: Callable[[], float],
    ) -> None:
        self._tracker = tracker
        self._transports = transports
        self._observers = observers
        self._tasks = tasks
        self._clock = clock

    @property
    def closed(self) -> bool:
        return self._tracker.closed

    def note(self, detail: str, transport: RTCIceTransport | None = None) -> None:
        self._tracker.note(detail, transport)

    def internal_error(self, where: str, exc: Exception) -> None:
        self._tracker.internal_error(where, exc)

    @fail_safe
    def liveness_changed(
        self, transport: RTCIceTransport, liveness: Liveness, reason: str | None = None
    ) -> None:
        """A new liveness verdict for one ICE transport (kept by its
        `TransportLiveness`, read by the next step's snapshot)."""
        if self._tracker.closed or transport not in self._transports:
            return
        if self._tracker.signalling.fell_back(transport, liveness, reason):
            return
        if self._observers:
            tracked = self._transports.tracked(transport)
            tap = None if tracked is None else tracked.tap
            last = None if tap is None else tap.last_received
            silence = None if last is None else self._clock() - last
            self._observers.tell("verdict", liveness, reason, silence)
        self._tracker.update(
            Cause("ice", self._transports.label(transport), detail=reason)
        )

    def restart_changed(self, transport: RTCIceTransport) -> None:
        restart = self._tracker.signalling.get(transport)
        if transport in self._transports and restart is not None:
            label = self._transports.label(transport)
            self._tracker.update(Cause("ice", label, detail=restart.state.detail))

    @fail_safe
    def stop_sending(self, transport: RTCIceTransport) -> None:
        if transport in self._transports:
            self._tracker.signalling.restart(transport).suspend()

    def selected_pair_changed(self, transport: RTCIceTransport) -> None:
        self._tracker.update(
            Cause(
                "ice",
                self._transports.label(transport),
                detail="another candidate pair selected",
            )
        )

    def round_trip(self, transport: RTCIceTransport, rtt: float) -> None:
        if self._observers:
            self._observers.tell("round_trip", rtt)

    def keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks.keep(task)

    @fail_safe
    def liveness_fault(self, transport: RTCIceTransport, exc: Exception) -> None:
        """An internal error in one transport's liveness (now switched off
        there, with aioice's consent checks given back): say why, once."""
        if self._tracker.closed or transport not in self._transports:
            return
        label = self._transports.label(transport)
        reason = f"liveness off: internal error ({type(exc).__name__}: {exc})"
        logger.warning(
            "%s: %s; its state follows aiortc from now on", label, reason, exc_info=exc
        )
        self._tracker.note(reason, transport)  # its verdict is alive again


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
