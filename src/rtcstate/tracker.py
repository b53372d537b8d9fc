"""Wires one aiortc connection to the state machine, the liveness of its ICE
transports and the change feed.

Theory of operation
-------------------
The tracker owns four parts and decides nothing itself:

* [`Transports`][rtcstate.transports.Transports], the counted transports, which call
  [`StateTracker.update`][rtcstate.tracker.StateTracker.update] when one of them fires
  `"statechange"`;
* [`StateMachine`][rtcstate.machine.StateMachine], which turns the transports'
  snapshots into changes;
* one [`TransportLiveness`][rtcstate.driver.TransportLiveness] per ICE transport (kept
  by its [`TrackedIce`][rtcstate.tracked.TrackedIce]), whose verdicts come back
  through
  [`StateTracker.liveness_changed`][rtcstate.tracker.StateTracker.liveness_changed];
* [`ChangeFeed`][rtcstate.feed.ChangeFeed], which keeps and hands out the changes.

A step reads the snapshots, runs the machine, starts or stops liveness for the
new states, records the changes, wakes waiters and iterators, and finally fires
the events through `on_change` (transport changes first, then ICE, then the
connection). A change made by a handler during a step is queued and stepped
after it, so events always fire in order.

Never worse than aiortc: the entry points
([`StateTracker.update`][rtcstate.tracker.StateTracker.update], `sync_transports`,
`liveness_changed`, `close`) are called from aiortc's callbacks and signalling
methods, so an exception of rtcstate's is logged there and never raised into aiortc.
An exception in one transport's liveness switches liveness off for that transport
only: its state then follows aiortc, as with `liveness=None`, and its history says
why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aiortc import RTCIceTransport, RTCPeerConnection

from . import _shims, stats
from .driver import TransportLiveness
from .events import (
    Cause,
    SelectedCandidatePair,
    StateChange,
    TransportChange,
)
from .feed import ChangeFeed
from .liveness import LivenessConfig
from .machine import StateMachine
from .options import Options
from .readout import Readout
from .signalling import RestartSignalling
from .states import IceTransportState, Liveness
from .transports import Transports

__all__ = ["Observer", "StateTracker"]

logger = logging.getLogger("rtcstate")

_Method = TypeVar("_Method", bound=Callable[..., Any])
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


class Observer(Protocol):
    """What follows a connection beside its events (`rtcstate.metrics`): told
    of every recorded change, `close()`'s included, of each liveness verdict
    and of each answered keepalive. Its exceptions are logged and go no further:
    an observer never costs the tracking."""

    def changes(
        self, transport_changes: list[TransportChange], changes: list[StateChange]
    ) -> None:
        """One step's changes, as recorded in the histories."""

    def verdict(
        self, liveness: Liveness, reason: str | None, silence: float | None
    ) -> None:
        """A liveness verdict for one ICE transport, before the step it causes;
        `silence` is the time since the last datagram from the remote on the
        selected pair (`None` if none arrived since the monitor started)."""

    def round_trip(self, rtt: float) -> None:
        """A keepalive on a selected pair was answered after `rtt` seconds."""

    def selected(self, pair: SelectedCandidatePair) -> None:
        """aioice selected a pair for an ICE transport (the
        `selectedcandidatepairchange` record)."""


def _fail_safe(method: _Method) -> _Method:
    """An entry point that aiortc's callbacks and signalling methods call: an
    exception of rtcstate's is logged, not raised into them (a stale state is
    better than a broken connection)."""

    @functools.wraps(method)
    def entry_point(self: StateTracker, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.internal_error(method.__name__, exc)
            return None

    return entry_point  # type: ignore[return-value]


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
        "_feed",
        "_followup",
        "_machine",
        "_observers",
        "_on_change",
        "_options",
        "_pending",
        "_signalling",
        "_tasks",
        "_transports",
        "_updating",
        "_warned",
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
        self._signalling = RestartSignalling(
            self._transports,
            self,
            options.loopback,
            (options.liveness or LivenessConfig()).failed_timeout,
        )
        # dicts as sets: an empty set takes 216 bytes, an empty dict 64
        self._tasks: dict[asyncio.Future[Any], None] = {}
        self._updating = False
        self._warned = False
        self._pending: Cause | None = None
        self._followup: asyncio.Handle | None = None
        self._observers: tuple[Observer, ...] = ()
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

    # --- observers ------------------------------------------------------------

    def add_observer(self, observer: Observer) -> None:
        """Tell `observer` of everything recorded from now on."""
        if observer not in self._observers:
            self._observers = (*self._observers, observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers = tuple(o for o in self._observers if o is not observer)

    def _observe(self, method: str, *args: Any) -> None:
        for observer in self._observers:
            try:
                getattr(observer, method)(*args)
            except Exception:
                logger.exception("an observer of rtcstate's changes raised")

    # --- inputs ---------------------------------------------------------------

    @_fail_safe
    def sync_transports(self, detail: str | None = None) -> None:
        """Re-read which transports count, subscribe to new ones, drop old ones."""
        if self.closed:
            return
        changed = self._transports.sync()
        if changed:
            detail = detail or self._transports.describe()
        self.update(Cause("transports", detail=detail))

    @_fail_safe
    def liveness_changed(
        self, transport: RTCIceTransport, liveness: Liveness, reason: str | None = None
    ) -> None:
        """A new liveness verdict for one ICE transport (kept by its
        `TransportLiveness`, read by the next step's snapshot)."""
        if self.closed or transport not in self._transports:
            return
        restart = self._signalling.get(transport)
        if (
            restart is not None
            and restart.unproven
            and liveness is not Liveness.ALIVE
            and reason is not None
        ):
            # the remote never came to the new pair: back to the old one, which
            # liveness judges afresh (a restart must not cost a working pair)
            restart.fall_back(reason)
            return
        if self._observers:
            tracked = self._transports.tracked(transport)
            tap = None if tracked is None else tracked.tap
            last = None if tap is None else tap.last_received
            silence = None if last is None else self._clock() - last
            self._observe("verdict", liveness, reason, silence)
        self.update(Cause("ice", self._transports.label(transport), detail=reason))

    async def drain(self) -> None:
        """Wait for the work liveness started (ending consent) to finish."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @_fail_safe
    def close(self, detail: str | None = None) -> None:
        """The application called `close()`: both states become `closed` at
        once, with no event; nothing changes afterwards. `detail` says why
        when rtcstate closes it on the application's behalf."""
        if self.closed:
            return
        changes = self._machine.close(self._clock(), detail)
        self._feed.record([], changes)
        if self._observers:
            self._observe("changes", [], changes)
        if self._followup is not None:
            self._followup.cancel()
            self._followup = None
        self._transports.close()  # stops each transport's liveness and restarts
        self._feed.publish(changes)
        self._feed.end()

    # --- the step -------------------------------------------------------------

    @_fail_safe
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
        for transport, snap in ice.items():
            state = machine.ice_transport_state(transport)
            if state in _WORKING and before[transport] in _OUTAGE:
                self._resend_sctp(transport)
            if state is not None:
                self._follow_liveness(transport, state, snap.native)
                if snap.native == "completed":
                    selection = self._follow_selection(transport, now)
                    if selection is not None:
                        selections.append(selection)
        self._feed.record(step.transport_changes, step.changes)
        if self._observers:
            if step.transport_changes or step.changes:
                self._observe("changes", step.transport_changes, step.changes)
            for selection in selections:
                self._observe("selected", selection)
        if step.followup and self._followup is None:
            self._followup = asyncio.get_running_loop().call_soon(self._run_followup)
        self._feed.publish(step.changes)
        # transport changes first: they are the causes of the aggregate ones
        events: list[Record] = [*step.transport_changes, *step.changes, *selections]
        for event in events:
            if self.closed:  # a handler closed the connection: nothing more fires
                break
            self._on_change(event)

    def _resend_sctp(
        self, transport: RTCIceTransport, checks: int = 10, acked: int | None = None
    ) -> None:
        """The path is back: what SCTP sent into the outage goes again now, not
        at its retransmission timer (an RTO of 1 s or more), so data queued on a
        channel moves within a round trip. aiortc sends each chunk in a packet of
        its own, so a long outage's backlog goes as a burst that can overflow the
        remote's socket buffer: every 0.1 s, while acknowledgements make no
        progress, it goes again (`checks` times at most)."""
        sctp = self._transports.pc.sctp
        if self.closed or sctp is None or sctp.transport.transport is not transport:
            return
        try:
            acked = _shims.resend_sctp(sctp, acked)
        except Exception as exc:  # the data still goes, at the timer
            self.internal_error("resending SCTP data", exc)
            return
        if acked is not None and checks > 1:
            asyncio.get_running_loop().call_later(
                0.1, self._resend_sctp, transport, checks - 1, acked
            )

    def _run_followup(self) -> None:
        self._followup = None
        self.update(Cause("ice", detail="one state at a time"))

    def _follow_selection(
        self, transport: RTCIceTransport, now: float
    ) -> SelectedCandidatePair | None:
        """The newly selected pair of `transport`, if aioice selected one (a first,
        or another) since the last step."""
        try:
            tracked = self._transports.tracked(transport)
            if tracked is None or not tracked.select(_shims.nominated_pair(transport)):
                return None
            return stats.selected_candidate_pair(
                transport, self._transports.label(transport), tracked.tap, now
            )
        except Exception as exc:  # an event is worth less than the states
            self.internal_error("selectedcandidatepairchange", exc)
            return None

    # --- ICE restart: signalling.RestartSignalling decides, this steps ----------

    def restart_ice(self, reason: str | None = None) -> bool:
        """`restartIce()` (see
        [`RestartSignalling.restart_ice`][rtcstate.signalling.RestartSignalling.restart_ice])."""
        return self._signalling.restart_ice(reason)

    async def before_offer(self) -> None:
        """`createOffer()` is about to read the ICE credentials: a wanted restart
        begins now on every ICE transport that has started."""
        if not self._signalling.wanted or self.closed:
            return
        await self._signalling.transports_started()
        self._begin_wanted()

    @_fail_safe
    def before_local_description(self) -> None:
        """`setLocalDescription()` is about to gather: a restarted transport
        whose gathering an earlier one's end marked done gathers again."""
        if self.closed:
            return
        for transport in self._transports.ice:
            _shims.gather_again(transport)

    @_fail_safe
    def _begin_wanted(self) -> None:
        if not self.closed:
            self._signalling.begin_wanted()

    @_fail_safe
    def description_applied(self, remote: bool) -> bool:
        """`setLocalDescription()` or `setRemoteDescription()` returned (see
        [`RestartSignalling.description_applied`][rtcstate.signalling.RestartSignalling.description_applied]);
        returns whether negotiation is needed."""
        return self._signalling.description_applied(remote)

    @_fail_safe
    def note(self, detail: str) -> None:
        """Record `detail` in `transport_history` for every ICE transport (a record
        whose state does not change), such as a recovery attempt's outcome."""
        if self.closed:
            return
        for transport in self._transports.ice:
            self._machine.note(transport, detail)
        self.update(Cause("ice", detail=detail))

    def restart_failed(self, transport: RTCIceTransport, detail: str) -> None:
        self._machine.note(transport, detail)
        self.update(Cause("ice", self._transports.label(transport), detail=detail))

    def restart_changed(self, transport: RTCIceTransport) -> None:
        restart = self._signalling.get(transport)
        if transport in self._transports and restart is not None:
            label = self._transports.label(transport)
            self.update(Cause("ice", label, detail=restart.detail))

    # --- liveness -------------------------------------------------------------

    def _follow_liveness(
        self, transport: RTCIceTransport, state: IceTransportState, native: str
    ) -> None:
        config = self._options.liveness
        tracked = self._transports.tracked(transport)
        if config is None or tracked is None:
            return
        generation = tracked.generation
        liveness = tracked.liveness
        if liveness is not None and liveness.generation != generation:
            # an ICE restart: a new pair and new credentials
            liveness.stop()
            liveness = None
        if liveness is None:
            liveness = TransportLiveness(transport, config, self, generation)
            tracked.liveness = liveness
        liveness.follow(state, native)

    # --- driver.LivenessOwner: what each transport's liveness reports to -----------

    @_fail_safe
    def stop_sending(self, transport: RTCIceTransport) -> None:
        if transport in self._transports:
            self._signalling.restart(transport).suspend()

    def selected_pair_changed(self, transport: RTCIceTransport) -> None:
        self.update(
            Cause(
                "ice",
                self._transports.label(transport),
                detail="another candidate pair selected",
            )
        )

    def round_trip(self, transport: RTCIceTransport, rtt: float) -> None:
        if self._observers:
            self._observe("round_trip", rtt)

    def keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks[task] = None

        def done(task: asyncio.Future[Any]) -> None:
            self._tasks.pop(task, None)
            if not task.cancelled() and task.exception() is not None:
                logger.warning(
                    "a task of rtcstate's failed (ICE restart or closing)",
                    exc_info=task.exception(),
                )

        task.add_done_callback(done)

    @_fail_safe
    def liveness_fault(self, transport: RTCIceTransport, exc: Exception) -> None:
        """An internal error in one transport's liveness (now switched off
        there, with aioice's consent checks given back): say why, once."""
        if self.closed or transport not in self._transports:
            return
        label = self._transports.label(transport)
        reason = f"liveness off: internal error ({type(exc).__name__}: {exc})"
        logger.warning(
            "%s: %s; its state follows aiortc from now on", label, reason, exc_info=exc
        )
        self._machine.note(transport, reason)  # its verdict is alive again
        self.update(Cause("ice", label, detail=reason))

    def internal_error(self, where: str, exc: Exception) -> None:
        # once with the traceback: a bug repeats on every event
        if not self._warned:
            self._warned = True
            logger.warning(
                "internal error in %s, not passed on to aiortc; states may lag",
                where,
                exc_info=exc,
            )
        else:
            logger.debug("internal error in %s", where, exc_info=exc)


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
