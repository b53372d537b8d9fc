"""Tracks one aiortc connection's transports and derives its W3C states.

The tracker subscribes to the ``"statechange"`` events of every ICE transport,
ICE gatherer and DTLS transport the connection counts, recomputes with
:mod:`rtcstate.rules` on each, and reports changes through one callback. It never
polls. Which transports count is re-read when the descriptions change (as in a
browser, where transports come into being with setLocalDescription /
setRemoteDescription) and when a remote candidate is added.

Never worse than aiortc: the entry points (:meth:`StateTracker.update`,
``sync_transports``, ``set_liveness``, ``close``) are called from aiortc's
callbacks and signalling methods, so an exception of rtcstate's is logged there
and never raised into aiortc. An exception in one transport's liveness monitor
switches liveness off for that transport only: its state then follows aiortc,
as with ``liveness=None``, and its history says why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aiortc import RTCDtlsTransport, RTCIceTransport, RTCPeerConnection

from . import _shims, rules, tap
from .driver import LivenessDriver
from .events import Cause, StateChange, TransportChange
from .liveness import LivenessConfig
from .states import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    Liveness,
    PeerConnectionState,
)

__all__ = ["DEFAULT_HISTORY_SIZE", "StateTracker", "UnreachableStateError"]

logger = logging.getLogger("rtcstate")

#: How many changes ``state_history`` keeps by default (the oldest are dropped).
DEFAULT_HISTORY_SIZE = 1000

Attribute = Literal["connectionState", "iceConnectionState"]
Loopback = Literal["auto", "always", "never"]
S = TypeVar("S", PeerConnectionState, IceConnectionState)
_Method = TypeVar("_Method", bound=Callable[..., None])


def _fail_safe(method: _Method) -> _Method:
    """An entry point that aiortc's callbacks and signalling methods call: an
    exception of rtcstate's is logged, not raised into them (a stale state is
    better than a broken connection)."""

    @functools.wraps(method)
    def entry_point(self: StateTracker, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as exc:
            self._internal_error(method.__name__, exc)

    return entry_point  # type: ignore[return-value]


class UnreachableStateError(Exception):
    """A waited-for state can no longer be reached (for example: the connection
    was closed while waiting for ``connected``)."""


@dataclass(eq=False)
class _Ice:
    transport: RTCIceTransport
    index: int
    state: IceTransportState = IceTransportState.NEW
    listeners: list[tuple[Any, Callable[[], None]]] = field(default_factory=list)
    liveness: Liveness = Liveness.ALIVE
    liveness_reason: str | None = None  # for the next change's cause, then cleared
    driver: LivenessDriver | None = None
    checks_timeout: asyncio.TimerHandle | None = None
    # once the remote has a candidate it keeps it (aiortc builds a new list on
    # every getRemoteCandidates(), so it is asked only until then)
    has_remote_candidates: bool = False
    # liveness switched off by an internal error (the state follows aiortc)
    liveness_off: bool = False
    # for the history when the derivation changed but not the state, then cleared
    notice: str | None = None


@dataclass(eq=False)
class _Dtls:
    transport: RTCDtlsTransport
    index: int
    state: DtlsTransportState = DtlsTransportState.NEW
    listeners: list[tuple[Any, Callable[[], None]]] = field(default_factory=list)


class StateChanges(Generic[S]):
    """Async iterator of every change of one attribute from its creation on.

    It is registered when created (not at the first ``__anext__``), so no change
    between creation and iteration is missed. It yields the final change to
    ``closed`` (made by ``close()``, which fires no event) and then stops.
    """

    def __init__(self, tracker: StateTracker, attribute: Attribute) -> None:
        self._attribute = attribute
        self._queue: asyncio.Queue[StateChange | None] = asyncio.Queue()
        self._tracker: StateTracker | None = tracker
        if tracker.closed:
            self._queue.put_nowait(None)
        else:
            tracker._add_iterator(self)

    def _push(self, change: StateChange | None) -> None:
        if change is None or change.attribute == self._attribute:
            self._queue.put_nowait(change)

    def __aiter__(self) -> StateChanges[S]:
        return self

    async def __anext__(self) -> StateChange:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stay exhausted
            await self.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop receiving changes."""
        if self._tracker is not None:
            if self._tracker._iterators is not None:
                self._tracker._iterators.discard(self)
            self._tracker = None


class StateTracker:
    """Derives ``connectionState`` / ``iceConnectionState`` for one connection.

    :param pc: the aiortc connection whose transports are read.
    :param on_change: called with each :class:`TransportChange` and then each
        :class:`StateChange` of a step, ICE before connection when one step
        changes both; never for ``close()``.
    :param history_size: how many changes :attr:`history` keeps.
    :param liveness: the liveness monitor's timers, or ``None`` for no monitor
        (ICE transports then leave connected only when aiortc says failed).
    :param loopback: whether to offer a 127.0.0.1 candidate: ``"auto"`` when
        the host has no other address, ``"always"``, or ``"never"``.
    :param clock: returns the time stamped on changes; the running loop's
        ``time()`` by default.
    """

    def __init__(
        self,
        pc: RTCPeerConnection,
        on_change: Callable[[StateChange | TransportChange], object],
        *,
        history_size: int = DEFAULT_HISTORY_SIZE,
        liveness: LivenessConfig | None = None,
        loopback: Loopback = "auto",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(
                f"history_size must be a positive int, not {history_size!r}"
            )
        if liveness is not None and not isinstance(liveness, LivenessConfig):
            raise TypeError(
                "liveness must be a LivenessConfig or None, not "
                + type(liveness).__name__
            )
        if loopback not in ("auto", "always", "never"):
            raise ValueError(
                f"loopback must be 'auto', 'always' or 'never', not {loopback!r}"
            )
        self._loopback = loopback
        self._liveness_config = liveness
        self._tasks: set[asyncio.Future[Any]] = set()
        self._pc = pc
        self._on_change = on_change
        self._clock = clock or _loop_time
        # Lists trimmed to history_size, not deques: an empty deque takes a
        # 600-byte block, which hundreds of connections notice in their RSS.
        self._history_size = history_size
        self._history: list[StateChange] = []
        self._transport_history: list[TransportChange] = []
        self._ice: dict[RTCIceTransport, _Ice] = {}
        self._dtls: dict[RTCDtlsTransport, _Dtls] = {}
        self._next_index = {"ice": 0, "dtls": 0}
        self._ice_state = IceConnectionState.NEW
        self._connection_state = PeerConnectionState.NEW
        self._closed = False
        self._updating = False
        self._warned = False
        self._pending: Cause | None = None
        self._followup: asyncio.Handle | None = None
        self._waiters: set[tuple[asyncio.Future[Any], Attribute, frozenset[str]]] = (
            set()
        )
        # made on first use: a WeakSet is 1 kB, and most connections never
        # iterate over their changes
        self._iterators: weakref.WeakSet[StateChanges[Any]] | None = None
        self.sync_transports()

    # --- reading ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """``close()`` was called (W3C ``[[IsClosed]]``)."""
        return self._closed

    @property
    def connection_state(self) -> PeerConnectionState:
        return self._connection_state

    @property
    def ice_connection_state(self) -> IceConnectionState:
        return self._ice_state

    @staticmethod
    def _has_remote_candidates(entry: _Ice) -> bool:
        if not entry.has_remote_candidates:
            entry.has_remote_candidates = bool(entry.transport.getRemoteCandidates())
        return entry.has_remote_candidates

    def _add_iterator(self, iterator: StateChanges[Any]) -> None:
        if self._iterators is None:
            self._iterators = weakref.WeakSet()
        self._iterators.add(iterator)

    def _record(self, history: list[Any], items: list[Any]) -> None:
        history.extend(items)
        if len(history) > self._history_size:
            del history[: len(history) - self._history_size]

    @property
    def history(self) -> list[StateChange]:
        return list(self._history)

    @property
    def transport_history(self) -> list[TransportChange]:
        return list(self._transport_history)

    def ice_transport_state(self, transport: RTCIceTransport) -> IceTransportState:
        """The W3C state rtcstate derives for one of the connection's ICE transports."""
        entry = self._ice.get(transport)
        if entry is None:
            if self._closed:
                return IceTransportState.CLOSED
            raise ValueError(
                f"{transport!r} is not an ICE transport this connection counts"
            )
        return entry.state

    def transport_states(self) -> dict[str, str]:
        """Label -> state of every counted transport, for logs and debugging."""
        out: dict[str, str] = {}
        for ice in self._ice.values():
            out[self._label(ice)] = ice.state.value
        for dtls in self._dtls.values():
            out[self._label(dtls)] = dtls.state.value
        return out

    # --- inputs ---------------------------------------------------------------

    @_fail_safe
    def sync_transports(self, detail: str | None = None) -> None:
        """Re-read which transports count, subscribe to new ones, drop old ones."""
        if self._closed:
            return
        dtls_now: dict[RTCDtlsTransport, None] = {}
        for transceiver in self._pc.getTransceivers():
            dtls_now[transceiver.receiver.transport] = None
        sctp = self._pc.sctp
        if sctp is not None:
            dtls_now[sctp.transport] = None
        ice_now = {d.transport: None for d in dtls_now}

        changed = False
        for old_dtls in [d for d in self._dtls if d not in dtls_now]:
            self._unsubscribe(self._dtls.pop(old_dtls).listeners)
            changed = True
        for old_ice in [i for i in self._ice if i not in ice_now]:
            self._forget_ice(self._ice.pop(old_ice))
            changed = True
        for ice_transport in ice_now:
            if ice_transport not in self._ice:
                self._ice[ice_transport] = self._subscribe_ice(ice_transport)
                changed = True
        for dtls_transport in dtls_now:
            if dtls_transport not in self._dtls:
                self._dtls[dtls_transport] = self._subscribe_dtls(dtls_transport)
                changed = True
        if changed:
            self.update(
                Cause("transports", detail=detail or self._describe_transports())
            )
        else:
            self.update(Cause("transports", detail=detail))

    @_fail_safe
    def set_liveness(
        self, transport: RTCIceTransport, liveness: Liveness, reason: str | None = None
    ) -> None:
        """Feed a liveness verdict for one ICE transport (from the liveness monitor)."""
        entry = self._ice.get(transport)
        if entry is None or self._closed:
            return
        entry.liveness = Liveness(liveness)
        entry.liveness_reason = reason
        if entry.liveness is Liveness.FAILED:
            # RFC 7675: consent expired, stop sending to the remote.
            self._keep(asyncio.ensure_future(self._stop_sending(transport)))
        self.update(Cause("ice", self._label(entry), detail=reason))

    async def drain(self) -> None:
        """Wait for the work the tracker started (ending consent) to finish."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)

        def done(task: asyncio.Future[Any]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.warning("ending consent failed", exc_info=task.exception())

        task.add_done_callback(done)

    async def _stop_sending(self, transport: RTCIceTransport) -> None:
        """RFC 7675: consent expired (or was never won), stop sending to the peer.

        What runs over the transport stops first, in the order aiortc's own
        close() uses (SCTP, then DTLS), so that nothing is left writing to a
        dead socket; then ICE, which aiortc then reports as "failed".
        """
        sctp = self._pc.sctp
        for dtls in [d for d in self._dtls if d.transport is transport]:
            if sctp is not None and sctp.transport is dtls:
                await sctp.stop()
            await dtls.stop()
        await _shims.end_consent(transport)

    def _forget_ice(self, entry: _Ice) -> None:
        self._unsubscribe(entry.listeners)
        if entry.driver is not None:
            entry.driver.stop()
        if entry.checks_timeout is not None:
            entry.checks_timeout.cancel()
            entry.checks_timeout = None

    def _bound_checks(self, entry: _Ice) -> None:
        """Fail a transport that checks for ``failed_timeout`` without finding a
        working pair, as libwebrtc does (aioice alone can check forever, for
        example against wrong ICE credentials)."""
        checking = entry.state is IceTransportState.CHECKING
        if not checking or self._liveness_config is None or entry.liveness_off:
            if entry.checks_timeout is not None:
                entry.checks_timeout.cancel()
                entry.checks_timeout = None
            return
        if entry.checks_timeout is not None:
            return
        timeout = self._liveness_config.failed_timeout

        def expired() -> None:
            entry.checks_timeout = None
            if self._closed or entry.transport not in self._ice:
                return
            entry.liveness_reason = (
                f"no working candidate pair after {timeout:.1f} s of checks"
            )
            # Stopping ICE makes aiortc's transport report "failed".
            self._keep(asyncio.ensure_future(self._stop_sending(entry.transport)))

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # armed at the next event, which runs in the loop
        entry.checks_timeout = loop.call_later(timeout, expired)

    def _run_liveness(self, entry: _Ice) -> None:
        """Start the monitor once a pair is selected; stop it when ICE ends."""
        native = entry.transport.state
        if entry.driver is not None:
            if native != "completed":
                entry.driver.stop()
            return
        config = self._liveness_config
        if config is None or native != "completed" or entry.liveness_off:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # started at the next event, which runs in the loop
        transport = entry.transport
        try:
            pair = tap.selected_pair(transport)
            if pair is None:
                return
            _shims.take_over_consent(transport)
            entry.driver = LivenessDriver(
                pair,
                config,
                lambda liveness, reason: self.set_liveness(transport, liveness, reason),
                lambda exc: self._liveness_fault(transport, exc),
            )
        except Exception as exc:
            self._liveness_fault(transport, exc)

    @_fail_safe
    def _liveness_fault(self, transport: RTCIceTransport, exc: Exception) -> None:
        """An internal error in one transport's liveness: switch it off there,
        give aioice its own consent checks back, say why once."""
        entry = self._ice.get(transport)
        if entry is None or entry.liveness_off or self._closed:
            return
        entry.liveness_off = True
        label = self._label(entry)
        reason = f"liveness off: internal error ({type(exc).__name__}: {exc})"
        logger.warning(
            "%s: %s; its state follows aiortc from now on", label, reason, exc_info=exc
        )
        driver, entry.driver = entry.driver, None
        if driver is not None:
            driver.stop()
        if entry.checks_timeout is not None:
            entry.checks_timeout.cancel()
            entry.checks_timeout = None
        try:
            _shims.restore_consent(transport)
        except Exception:
            logger.warning("aioice's consent checks not restored", exc_info=True)
        entry.liveness = Liveness.ALIVE
        entry.liveness_reason = entry.notice = reason
        self.update(Cause("ice", label, detail=reason))

    def _internal_error(self, where: str, exc: Exception) -> None:
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

    @_fail_safe
    def close(self) -> None:
        """The application called ``close()``: both states become ``closed`` at
        once, with no event; nothing changes afterwards."""
        if self._closed:
            return
        self._closed = True
        now = self._clock()
        cause = Cause("close")
        changes = []
        if self._ice_state is not IceConnectionState.CLOSED:
            changes.append(
                StateChange(
                    "iceConnectionState",
                    self._ice_state,
                    IceConnectionState.CLOSED,
                    now,
                    cause,
                )
            )
        if self._connection_state is not PeerConnectionState.CLOSED:
            changes.append(
                StateChange(
                    "connectionState",
                    self._connection_state,
                    PeerConnectionState.CLOSED,
                    now,
                    cause,
                )
            )
        self._ice_state = IceConnectionState.CLOSED
        self._connection_state = PeerConnectionState.CLOSED
        self._record(self._history, changes)
        if self._followup is not None:
            self._followup.cancel()
            self._followup = None
        for ice in self._ice.values():
            self._forget_ice(ice)
        for dtls in self._dtls.values():
            self._unsubscribe(dtls.listeners)
        self._ice.clear()
        self._dtls.clear()
        self._notify(changes)
        for iterator in list(self._iterators or ()):
            iterator._push(None)
        self._iterators = None

    # --- the step -------------------------------------------------------------

    @_fail_safe
    def update(self, cause: Cause) -> None:
        """Recompute both states; report what changed, ICE first."""
        if self._closed:
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
                if self._pending is None or self._closed:
                    break
                cause, self._pending = self._pending, None
        finally:
            self._updating = False

    def _step(self, cause: Cause) -> None:
        moved: Cause | None = None
        moves: list[TransportChange] = []
        needs_followup = False
        for entry in self._ice.values():
            transport = entry.transport
            self._run_liveness(entry)
            derived = rules.ice_transport_state(
                transport.state,
                has_remote_candidates=self._has_remote_candidates(entry),
                local_gathering_complete=transport.iceGatherer.state == "completed",
                remote_end_of_candidates=_shims.remote_end_of_candidates(transport),
                liveness=entry.liveness,
            )
            reported = rules.next_ice_transport_state(entry.state, derived)
            # A jump split into steps (new, checking, connected, completed): the
            # next step comes in a follow-up.
            needs_followup |= reported is not derived and reported is not entry.state
            if reported is not entry.state:
                before, entry.state = entry.state, reported
                label, detail = self._label(entry), self._ice_detail(entry)
                moves.append(
                    TransportChange(
                        "ice",
                        label,
                        before.value,
                        reported.value,
                        self._clock(),
                        detail,
                    )
                )
                moved = moved or Cause("ice", label, reported.value, detail)
                entry.liveness_reason = None  # consumed by this change
            elif entry.notice is not None:
                # how the state is derived changed, not the state: keep a record
                # (which consumes the reason, as a change would)
                entry.liveness_reason = None
                moves.append(
                    TransportChange(
                        "ice",
                        self._label(entry),
                        reported.value,
                        reported.value,
                        self._clock(),
                        entry.notice,
                    )
                )
            entry.notice = None
            self._bound_checks(entry)
        for dtls in self._dtls.values():
            state = DtlsTransportState(dtls.transport.state)
            if state is not dtls.state:
                before_dtls, dtls.state = dtls.state, state
                label = self._label(dtls)
                moves.append(
                    TransportChange(
                        "dtls", label, before_dtls.value, state.value, self._clock()
                    )
                )
                moved = moved or Cause("dtls", label, state.value)

        ice_state = rules.ice_connection_state(e.state for e in self._ice.values())
        connection_state = rules.connection_state(
            ice_state, (d.state for d in self._dtls.values())
        )
        cause = moved or cause
        now = self._clock()
        changes: list[StateChange] = []
        if ice_state is not self._ice_state:
            changes.append(
                StateChange(
                    "iceConnectionState", self._ice_state, ice_state, now, cause
                )
            )
        if connection_state is not self._connection_state:
            changes.append(
                StateChange(
                    "connectionState",
                    self._connection_state,
                    connection_state,
                    now,
                    cause,
                )
            )
        # Both values are set before any handler runs, as in webrtc-pc.
        self._ice_state = ice_state
        self._connection_state = connection_state
        self._record(self._history, changes)
        if needs_followup and self._followup is None:
            self._followup = asyncio.get_running_loop().call_soon(self._run_followup)
        self._record(self._transport_history, moves)
        self._notify(changes)
        # transport changes first: they are the causes of the aggregate ones
        events: list[TransportChange | StateChange] = [*moves, *changes]
        for event in events:
            if self._closed:  # a handler closed the connection: nothing more fires
                break
            self._on_change(event)

    def _ice_detail(self, entry: _Ice) -> str:
        reason = entry.liveness_reason
        if reason is None:
            return f"aiortc: {entry.transport.state}"
        hung_up = any(
            d.state is DtlsTransportState.CLOSED
            and d.transport.transport is entry.transport
            for d in self._dtls.values()
        )
        if hung_up and entry.state is IceTransportState.DISCONNECTED:
            return f"{reason}, after the remote closed DTLS"
        return reason

    def _run_followup(self) -> None:
        self._followup = None
        self.update(Cause("ice", detail="one state at a time"))

    # --- waiting --------------------------------------------------------------

    async def wait_for(
        self, attribute: Attribute, states: Iterable[str], timeout: float | None
    ) -> Any:
        enum: type[Any] = (
            PeerConnectionState
            if attribute == "connectionState"
            else IceConnectionState
        )
        wanted = frozenset(_coerce_all(enum, states))
        if not wanted:
            raise ValueError(f"wait for which {attribute}? Give at least one state")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, not {timeout!r}")
        current = self._current(attribute)
        if current in wanted:
            return current
        _check_reachable(attribute, current, wanted)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = (future, attribute, wanted)
        self._waiters.add(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.discard(waiter)

    def _current(
        self, attribute: Attribute
    ) -> PeerConnectionState | IceConnectionState:
        if attribute == "connectionState":
            return self._connection_state
        return self._ice_state

    def _notify(self, changes: list[StateChange]) -> None:
        for change in changes:
            for iterator in list(self._iterators or ()):
                iterator._push(change)
        for future, attribute, wanted in list(self._waiters):
            if future.done():
                continue
            current = self._current(attribute)
            if current in wanted:
                future.set_result(current)
                continue
            try:
                _check_reachable(attribute, current, wanted)
            except UnreachableStateError as error:
                future.set_exception(error)

    # --- transports -----------------------------------------------------------

    def _subscribe_ice(self, transport: RTCIceTransport) -> _Ice:
        try:
            _shims.guard_connection(transport, self._loopback)
        except Exception as exc:  # the guards are worth less than the connection
            self._internal_error("guard_connection", exc)
        entry = _Ice(transport, self._take_index("ice"))
        callback = self._callback("ice", entry)
        for emitter in (transport, transport.iceGatherer):
            emitter.on("statechange", callback)
            entry.listeners.append((emitter, callback))
        return entry

    def _subscribe_dtls(self, transport: RTCDtlsTransport) -> _Dtls:
        entry = _Dtls(transport, self._take_index("dtls"))
        callback = self._callback("dtls", entry)
        transport.on("statechange", callback)
        entry.listeners.append((transport, callback))
        return entry

    def _callback(
        self, kind: Literal["ice", "dtls"], entry: _Ice | _Dtls
    ) -> Callable[[], None]:
        # A weak reference: the transports must not keep a dropped tracker alive.
        ref = weakref.ref(self)

        def on_statechange() -> None:
            tracker = ref()
            if tracker is not None:
                tracker.update(
                    Cause(kind, tracker._label(entry), entry.transport.state)
                )

        return on_statechange

    @staticmethod
    def _unsubscribe(listeners: list[tuple[Any, Callable[[], None]]]) -> None:
        for emitter, callback in listeners:
            # aiortc drops every listener of an ICE transport when it closes.
            if callback in emitter.listeners("statechange"):
                emitter.remove_listener("statechange", callback)
        listeners.clear()

    def _take_index(self, kind: str) -> int:
        index = self._next_index[kind]
        self._next_index[kind] = index + 1
        return index

    def _label(self, entry: _Ice | _Dtls) -> str:
        """``ice#0 (mid 0,1)``: the transport's kind, index and the mids it carries."""
        carriers: list[tuple[str | None, RTCDtlsTransport]] = [
            (t.mid, t.receiver.transport) for t in self._pc.getTransceivers()
        ]
        sctp = self._pc.sctp
        if sctp is not None:
            carriers.append((sctp.mid, sctp.transport))
        if isinstance(entry, _Ice):
            kind = "ice"
            mids = [
                m
                for m, d in carriers
                if m is not None and d.transport is entry.transport
            ]
        else:
            kind = "dtls"
            mids = [m for m, d in carriers if m is not None and d is entry.transport]
        named = f" (mid {','.join(mids)})" if mids else ""
        return f"{kind}#{entry.index}{named}"

    def _describe_transports(self) -> str:
        return f"{len(self._ice)} ICE, {len(self._dtls)} DTLS transport(s)"


def _coerce_all(enum: type[Any], states: Iterable[str]) -> list[Any]:
    out = []
    for state in states:
        try:
            out.append(enum(state))
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            raise ValueError(
                f"{state!r} is not a {enum.__name__} ({allowed})"
            ) from None
    return out


def _check_reachable(
    attribute: Attribute, current: Any, wanted: frozenset[Any]
) -> None:
    reachable: frozenset[Any] = (
        rules.reachable_connection_states(current)
        if attribute == "connectionState"
        else rules.reachable_ice_connection_states(current)
    )
    if wanted.isdisjoint(reachable):
        names = " or ".join(sorted(str(s) for s in wanted))
        raise UnreachableStateError(
            f"{attribute} can no longer become {names}: it is {current}"
            + (" (close() was called)" if str(current) == "closed" else " (terminal)")
        )


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
