"""The state graphs of the two public states: which changes are valid, and what
can still happen from a state. Pure data and functions, as [`rtcstate.rules`][]
(which re-exports them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .states import IceConnectionState, PeerConnectionState, members_of

__all__ = [
    "ATTRIBUTES",
    "CONNECTION_TRANSITIONS",
    "ICE_CONNECTION_TRANSITIONS",
    "AttributeRules",
    "is_valid_transition",
    "reachable_connection_states",
    "reachable_ice_connection_states",
]


# --- what can still happen ----------------------------------------------------

_CONNECTION_TERMINAL: dict[PeerConnectionState, frozenset[PeerConnectionState]] = {
    PeerConnectionState.CLOSED: frozenset({PeerConnectionState.CLOSED}),
    PeerConnectionState.FAILED: frozenset(
        {PeerConnectionState.FAILED, PeerConnectionState.CLOSED}
    ),
}
_ICE_TERMINAL: dict[IceConnectionState, frozenset[IceConnectionState]] = {
    IceConnectionState.CLOSED: frozenset({IceConnectionState.CLOSED}),
    IceConnectionState.FAILED: frozenset(
        {IceConnectionState.FAILED, IceConnectionState.CLOSED}
    ),
}


def reachable_connection_states(
    current: PeerConnectionState | str,
) -> frozenset[PeerConnectionState]:
    """States `connectionState` can still take from `current` (itself included).

    `closed` is final; `failed` can only become `closed` unless the application
    restarts ICE (a failed ICE transport needs an ICE restart, which is the
    application's to start, and a failed DTLS transport never recovers).
    """
    return ATTRIBUTES["connectionState"].reachable(current)


def reachable_ice_connection_states(
    current: IceConnectionState | str,
) -> frozenset[IceConnectionState]:
    """States `iceConnectionState` can still take from `current`."""
    return ATTRIBUTES["iceConnectionState"].reachable(current)


# --- the state graphs ----------------------------------------------------------

_P = PeerConnectionState
_C = IceConnectionState

CONNECTION_TRANSITIONS: dict[PeerConnectionState, frozenset[PeerConnectionState]] = {
    _P.NEW: frozenset({_P.CONNECTING, _P.FAILED, _P.CLOSED}),
    _P.CONNECTING: frozenset({_P.CONNECTED, _P.DISCONNECTED, _P.FAILED, _P.CLOSED}),
    _P.CONNECTED: frozenset({_P.CONNECTING, _P.DISCONNECTED, _P.FAILED, _P.CLOSED}),
    _P.DISCONNECTED: frozenset({_P.CONNECTING, _P.CONNECTED, _P.FAILED, _P.CLOSED}),
    _P.FAILED: frozenset({_P.CONNECTING, _P.CLOSED}),  # connecting: ICE restart
    _P.CLOSED: frozenset(),
}
"""Every change of connectionState the rules produce from the transport changes aiortc
makes while the connection is open. Nothing goes back to new (that would take every
transport closing without close(), which aiortc never does); failed goes to closed, or
to connecting when the application restarts ICE; closed is final; from new the
connection starts connecting, or fails at once (ICE failing with no candidate at
all)."""

ICE_CONNECTION_TRANSITIONS: dict[IceConnectionState, frozenset[IceConnectionState]] = {
    _C.NEW: frozenset({_C.CHECKING, _C.FAILED, _C.CLOSED}),
    _C.CHECKING: frozenset(
        {_C.CONNECTED, _C.COMPLETED, _C.DISCONNECTED, _C.FAILED, _C.CLOSED}
    ),
    _C.CONNECTED: frozenset(
        {_C.CHECKING, _C.COMPLETED, _C.DISCONNECTED, _C.FAILED, _C.CLOSED}
    ),
    _C.COMPLETED: frozenset(
        {_C.CHECKING, _C.CONNECTED, _C.DISCONNECTED, _C.FAILED, _C.CLOSED}
    ),
    _C.DISCONNECTED: frozenset(
        {_C.CHECKING, _C.CONNECTED, _C.COMPLETED, _C.FAILED, _C.CLOSED}
    ),
    _C.FAILED: frozenset({_C.CHECKING, _C.CLOSED}),  # checking: ICE restart
    _C.CLOSED: frozenset(),
}
"""Every change of iceConnectionState the rules can produce. failed goes to closed, or
to checking when the application restarts ICE. A transport leaves new only
for checking or failed, even when its only remote candidate is peer-reflexive (see
[`next_ice_transport_state`][rtcstate.rules.next_ice_transport_state])."""


@dataclass(frozen=True)
class AttributeRules:
    """What the rules say of one public state attribute, looked up by its name in
    [`ATTRIBUTES`][rtcstate._graphs.ATTRIBUTES] (so no code branches on the attribute's
    name).

    :ivar name: `"connectionState"` or `"iceConnectionState"`.
    :ivar enum: its W3C enum.
    :ivar transitions: its state graph.
    :ivar terminal: the states it can still reach from a terminal state.
    """

    name: str
    enum: type[PeerConnectionState] | type[IceConnectionState]
    transitions: Mapping[Any, frozenset[Any]]
    terminal: Mapping[Any, frozenset[Any]]

    def coerce(self, values: Iterable[str]) -> frozenset[Any]:
        """The enum members named by `values`; `ValueError` for a value
        that is not one."""
        return members_of(self.enum, values, self.name)

    def reachable(self, current: str) -> frozenset[Any]:
        """States the attribute can still take from `current` (itself included)."""
        state = self.enum(current)
        return self.terminal.get(state, frozenset(self.enum))

    def is_valid_transition(self, previous: str, current: str) -> bool:
        return self.enum(current) in self.transitions[self.enum(previous)]


ATTRIBUTES: dict[str, AttributeRules] = {
    "connectionState": AttributeRules(
        "connectionState",
        PeerConnectionState,
        CONNECTION_TRANSITIONS,
        _CONNECTION_TERMINAL,
    ),
    "iceConnectionState": AttributeRules(
        "iceConnectionState",
        IceConnectionState,
        ICE_CONNECTION_TRANSITIONS,
        _ICE_TERMINAL,
    ),
}
"""The two public state attributes, by name."""


def is_valid_transition(attribute: str, previous: str, current: str) -> bool:
    """Whether `previous -> current` is an edge of the state graph of
    `attribute` (`"connectionState"` or `"iceConnectionState"`)."""
    rules = ATTRIBUTES.get(attribute)
    if rules is None:
        raise ValueError(f"unknown attribute {attribute!r}")
    return rules.is_valid_transition(previous, current)
