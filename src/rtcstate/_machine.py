"""The connection's state machine: snapshots of its transports in, changes out.

Theory of operation
-------------------
Everything that decides a state lives here; nothing here reads aiortc, a clock or the
event loop. [`StateMachine`][rtcstate._machine.StateMachine] is driven, like h11's
`ConnectionState`, by plain values:

* [`StateMachine.step`][rtcstate._machine.StateMachine.step] with one
  [`IceSnapshot`][rtcstate._machine.IceSnapshot] per counted ICE transport and
  one [`DtlsSnapshot`][rtcstate._machine.DtlsSnapshot] per DTLS transport (what
  aiortc says of each, read by [`rtcstate._transports`][]), the
  [`Cause`][rtcstate.Cause] of the step and `now`. It returns a
  [`Step`][rtcstate._machine.Step]: the transports' changes, then the aggregate
  ones (`iceConnectionState` before `connectionState`), and whether
  another step must follow;
* [`StateMachine.note`][rtcstate._machine.StateMachine.note] with a detail the next
  step records for one ICE transport even if its state stays (liveness switched off
  by an internal error, a recovery attempt that failed);
* [`StateMachine.close`][rtcstate._machine.StateMachine.close] when the application
  closes the connection: both states become `closed` at once and nothing changes
  afterwards.

A step derives each ICE transport's state with
[`rules.ice_transport_state`][rtcstate.rules.ice_transport_state], moves it by at most
one state ([`rules.next_ice_transport_state`][rtcstate.rules.next_ice_transport_state]:
a jump is split and the rest comes in a follow-up step), then aggregates with the two
spec tables in [`rtcstate.rules`][]. Transports are keyed by any hashable value; a key
missing from a step's snapshots is a transport no longer counted.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import rules
from ._events import Attribute, Cause, StateChange, TransportChange
from .states import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    Liveness,
    PeerConnectionState,
)

__all__ = ["DtlsSnapshot", "IceSnapshot", "StateMachine", "Step"]

# shared: each frozenset() is a new 216-byte object, per connection
_NONE: frozenset[Hashable] = frozenset()


@dataclass(frozen=True, slots=True)
class IceSnapshot:
    """What aiortc says of one ICE transport at the time of a step.

    :ivar label: names the transport in changes and causes (`ice#0 (mid 0)`).
    :ivar native: aiortc's `RTCIceTransport.state`.
    :ivar has_remote_candidates: at least one remote candidate is known.
    :ivar local_gathering_complete: the ICE gatherer finished.
    :ivar remote_end_of_candidates: the remote signalled end-of-candidates.
    :ivar dtls: the keys of the DTLS transports that run over it (one closed
        while the connection is open is a remote hang-up, told apart in the
        causes).
    :ivar restart: `"checking"` while an ICE restart's checks run, `"failed"`
        if they failed, else `None`.
    :ivar restarts: ICE restart events so far (began, succeeded, failed): a new
        one is recorded, with `restart_detail` as its cause, and lets a failed
        transport check again.
    :ivar restart_detail: what the latest restart event was.
    :ivar liveness: the liveness verdict on the selected pair (from
        [`rtcstate.liveness`][]); `alive` without a monitor.
    :ivar liveness_reason: why, as the monitor said; the cause of the change a
        new verdict brings.
    """

    label: str
    native: str
    has_remote_candidates: bool = True
    local_gathering_complete: bool = False
    remote_end_of_candidates: bool = False
    dtls: tuple[Hashable, ...] = ()
    restart: str | None = None
    restarts: int = 0
    restart_detail: str | None = None
    liveness: Liveness = Liveness.ALIVE
    liveness_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DtlsSnapshot:
    """What aiortc says of one DTLS transport: its label and `state`, and
    whether a `closed` state was the remote's doing (its close_notify)."""

    label: str
    native: str
    remote_hangup: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """What one step changed, in the order the events fire.

    :ivar transport_changes: each transport's change, and the records of a
        liveness switched off; they are the causes of the aggregate changes.
    :ivar changes: `iceConnectionState`, then `connectionState`.
    :ivar followup: a transport moved only part of the way; step again soon.
    """

    transport_changes: list[TransportChange] = field(default_factory=list)
    changes: list[StateChange] = field(default_factory=list)
    followup: bool = False


@dataclass(slots=True)
class _Ice:
    state: IceTransportState = IceTransportState.NEW
    liveness: Liveness = Liveness.ALIVE  # the verdict last stepped
    reason: str | None = None  # for the next change's cause, then cleared
    notice: str | None = None  # the derivation changed, not the state
    restarts: int = 0  # the restart events seen


class StateMachine:
    """The W3C states of one connection, derived from its transports."""

    # slots: hundreds of connections each hold one
    __slots__ = ("_closed", "_dtls", "_hung_up", "_ice", "_states")

    def __init__(self) -> None:
        self._ice: dict[Hashable, _Ice] = {}
        self._dtls: dict[Hashable, DtlsTransportState] = {}
        self._hung_up = _NONE  # DTLS closed by the remote (rare)
        # iceConnectionState first: in a step that changes both, it fires first
        self._states: dict[Attribute, IceConnectionState | PeerConnectionState] = {
            "iceConnectionState": IceConnectionState.NEW,
            "connectionState": PeerConnectionState.NEW,
        }
        self._closed = False

    @property
    def closed(self) -> bool:
        """[`close`][rtcstate._machine.StateMachine.close] was called (W3C
        `[[IsClosed]]`)."""
        return self._closed

    def state(self, attribute: Attribute) -> IceConnectionState | PeerConnectionState:
        """The current value of `connectionState` or `iceConnectionState`."""
        return self._states[attribute]

    @property
    def ice_connection_state(self) -> IceConnectionState:
        return IceConnectionState(self._states["iceConnectionState"])

    @property
    def connection_state(self) -> PeerConnectionState:
        return PeerConnectionState(self._states["connectionState"])

    def ice_transport_state(self, key: Hashable) -> IceTransportState | None:
        """The state last reported for one ICE transport, `None` if unknown."""
        entry = self._ice.get(key)
        return None if entry is None else entry.state

    def dtls_transport_state(self, key: Hashable) -> DtlsTransportState | None:
        return self._dtls.get(key)

    def note(self, key: Hashable, detail: str) -> None:
        """Record `detail` for one ICE transport at the next step, even if its state
        does not change (a recovery attempt that failed, for example)."""
        entry = self._ice.get(key)
        if entry is not None and not self._closed:
            entry.reason = entry.notice = detail

    def step(
        self,
        ice: Mapping[Any, IceSnapshot],
        dtls: Mapping[Any, DtlsSnapshot],
        cause: Cause,
        now: float,
    ) -> Step:
        """Derive every state from the snapshots; return what changed.

        The first transport that changed becomes the cause of the aggregate
        changes; without one, `cause` is.
        """
        if self._closed:
            return Step()
        self._forget_missing(ice, dtls)
        moves: list[TransportChange] = []
        moved: Cause | None = None
        followup = False
        for key, snap in ice.items():
            entry = self._ice.setdefault(key, _Ice())
            restarted = self._follow_restart(entry, snap)
            if snap.liveness is not entry.liveness:
                entry.liveness = snap.liveness
                if snap.liveness_reason is not None:
                    entry.reason = snap.liveness_reason
            derived = rules.ice_transport_state(
                snap.native,
                has_remote_candidates=snap.has_remote_candidates,
                local_gathering_complete=snap.local_gathering_complete,
                remote_end_of_candidates=snap.remote_end_of_candidates,
                liveness=entry.liveness,
                restart=snap.restart,
            )
            reported = rules.next_ice_transport_state(
                entry.state, derived, restarted=restarted
            )
            # a jump split into steps: the next one comes in a follow-up
            followup |= reported is not derived and reported is not entry.state
            changed = reported is not entry.state
            # a notice records a change of the derivation, not of the state
            if changed or entry.notice is not None:
                before, entry.state = entry.state, reported
                detail = self._ice_detail(entry, snap) if changed else entry.notice
                moves.append(
                    TransportChange(
                        "ice", snap.label, before.value, reported.value, now, detail
                    )
                )
                if changed:
                    moved = moved or Cause("ice", snap.label, reported.value, detail)
                entry.reason = None  # consumed by this record
            entry.notice = None
        for key, dtls_snap in dtls.items():
            state = DtlsTransportState(dtls_snap.native)
            before_dtls = self._dtls.get(key, DtlsTransportState.NEW)
            self._dtls[key] = state
            if state is not before_dtls:
                hangup = state is DtlsTransportState.CLOSED and dtls_snap.remote_hangup
                if hangup:
                    self._hung_up |= {key}
                moves.append(
                    TransportChange(
                        "dtls",
                        dtls_snap.label,
                        before_dtls.value,
                        state.value,
                        now,
                        "closed by the remote" if hangup else None,
                        remote_hangup=hangup,
                    )
                )
                moved = moved or Cause("dtls", dtls_snap.label, state.value)

        ice_state = rules.ice_connection_state(e.state for e in self._ice.values())
        connection_state = rules.connection_state(ice_state, self._dtls.values())
        changes = self._set(
            {"iceConnectionState": ice_state, "connectionState": connection_state},
            moved or cause,
            now,
        )
        return Step(moves, changes, followup)

    def close(self, now: float, detail: str | None = None) -> list[StateChange]:
        """`close()`: both states become `closed` (with no event, which is for
        the caller to honour); every later call changes nothing. `detail`
        says why, when the application did not call it itself."""
        if self._closed:
            return []
        self._closed = True
        self._ice.clear()
        self._dtls.clear()
        self._hung_up = _NONE
        return self._set(
            {
                "iceConnectionState": IceConnectionState.CLOSED,
                "connectionState": PeerConnectionState.CLOSED,
            },
            Cause("close", detail=detail),
            now,
        )

    def _set(
        self,
        states: dict[Attribute, IceConnectionState | PeerConnectionState],
        cause: Cause,
        now: float,
    ) -> list[StateChange]:
        changes = [
            StateChange(attribute, self._states[attribute], state, now, cause)
            for attribute, state in states.items()
            if state is not self._states[attribute]
        ]
        # Both values are set before any handler runs, as in webrtc-pc.
        self._states.update(states)
        return changes

    def _forget_missing(
        self, ice: Mapping[Any, IceSnapshot], dtls: Mapping[Any, DtlsSnapshot]
    ) -> None:
        for key in [k for k in self._ice if k not in ice]:
            del self._ice[key]
        for key in [k for k in self._dtls if k not in dtls]:
            del self._dtls[key]
            self._hung_up -= {key}

    @staticmethod
    def _follow_restart(entry: _Ice, snap: IceSnapshot) -> bool:
        """Record a new ICE restart event; whether there was one."""
        if snap.restarts == entry.restarts:
            return False
        entry.restarts = snap.restarts
        if snap.restart_detail is not None:
            # recorded even when the state stays (a restart while connected)
            entry.reason = entry.notice = snap.restart_detail
        return True

    def _ice_detail(self, entry: _Ice, snap: IceSnapshot) -> str:
        if entry.reason is None:
            return f"aiortc: {snap.native}"
        hung_up = any(k in self._hung_up for k in snap.dtls)
        if hung_up and entry.state is IceTransportState.DISCONNECTED:
            return f"{entry.reason}, after the remote closed DTLS"
        return entry.reason
