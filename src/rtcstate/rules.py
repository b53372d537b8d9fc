"""The W3C webrtc-pc state rules, as data and pure functions.

Theory of operation
-------------------
A peer connection owns a set of ICE transports and DTLS transports (one pair per
m-line, or a single shared pair when bundled; the SCTP transport's pair counts too).
Its two public states are *derived*: nothing sets them directly.

1. Each ICE transport's `RTCIceTransportState` is derived in exactly one place,
   [`ice_transport_state`][rtcstate.rules.ice_transport_state], from what aiortc reports
   for it (which lacks `connected` and `disconnected`), what is known of its candidates,
   and what a liveness monitor says of its selected pair.
2. `iceConnectionState` is the first row of
   [`ICE_CONNECTION_RULES`][rtcstate.rules.ICE_CONNECTION_RULES] that matches the
   multiset of ICE transport states (webrtc-pc, "RTCIceConnectionState Enum").
3. `connectionState` is the first row of
   [`CONNECTION_RULES`][rtcstate.rules.CONNECTION_RULES] that matches the aggregate ICE
   state and the DTLS transport states (webrtc-pc, "RTCPeerConnectionState Enum").

A connection closed by `close()` is `closed` in both, whatever its transports
say; that is the first row of both tables.

One deliberate departure from the W3C text: the text's `connected` row names
only `iceConnectionState == "connected"`, so `completed` with connected DTLS
would read `connecting`. libwebrtc and MDN say `connected` there, and so does
rtcstate by default; `w3c_literal=True` gives the text's reading.

Everything here is pure: plain values in, plain values out, no I/O and no clock.
The state graphs (which changes are valid, what can still happen) are in
`rtcstate._graphs`, re-exported here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from ._graphs import (
    ATTRIBUTES,
    CONNECTION_TRANSITIONS,
    ICE_CONNECTION_TRANSITIONS,
    AttributeRules,
    is_valid_transition,
    reachable_connection_states,
    reachable_ice_connection_states,
)
from .states import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    Liveness,
    PeerConnectionState,
    members_of,
)

__all__ = [
    "ATTRIBUTES",
    "CONNECTION_RULES",
    "CONNECTION_TRANSITIONS",
    "ICE_CONNECTION_RULES",
    "ICE_CONNECTION_TRANSITIONS",
    "AttributeRules",
    "ConnectionRule",
    "IceConnectionRule",
    "connection_state",
    "ice_connection_state",
    "ice_transport_state",
    "is_valid_transition",
    "next_ice_transport_state",
    "reachable_connection_states",
    "reachable_ice_connection_states",
]

_I = IceTransportState
E = TypeVar("E", bound=Enum)
_D = DtlsTransportState


class Quantifier(Enum):
    """How a rule's set of states is applied to the transports."""

    ANY = "any"  # at least one transport is in the set
    ALL = "all"  # every transport is in the set (true when there are none)


@dataclass(frozen=True)
class IceConnectionRule:
    """One row of the iceConnectionState table."""

    result: IceConnectionState
    quantifier: Quantifier
    states: frozenset[IceTransportState]

    def matches(self, ice: frozenset[IceTransportState]) -> bool:
        if self.quantifier is Quantifier.ANY:
            return not ice.isdisjoint(self.states)
        return ice <= self.states


ICE_CONNECTION_RULES: tuple[IceConnectionRule, ...] = (
    IceConnectionRule(
        IceConnectionState.FAILED, Quantifier.ANY, frozenset({_I.FAILED})
    ),
    IceConnectionRule(
        IceConnectionState.DISCONNECTED, Quantifier.ANY, frozenset({_I.DISCONNECTED})
    ),
    IceConnectionRule(
        IceConnectionState.NEW, Quantifier.ALL, frozenset({_I.NEW, _I.CLOSED})
    ),
    IceConnectionRule(
        IceConnectionState.CHECKING, Quantifier.ANY, frozenset({_I.NEW, _I.CHECKING})
    ),
    IceConnectionRule(
        IceConnectionState.COMPLETED,
        Quantifier.ALL,
        frozenset({_I.COMPLETED, _I.CLOSED}),
    ),
    IceConnectionRule(
        IceConnectionState.CONNECTED,
        Quantifier.ALL,
        frozenset({_I.CONNECTED, _I.COMPLETED, _I.CLOSED}),
    ),
)
"""webrtc-pc RTCIceConnectionState, after "closed" (which the `closed` flag decides):
the first row whose quantifier holds over the ICE transports wins."""


@dataclass(frozen=True)
class ConnectionRule:
    """One row of the connectionState table.

    The row matches when the aggregate ICE state is in `ice` (`None`: any) and
    the DTLS transports satisfy `dtls_quantifier` over `dtls` (`None`: any);
    `either` makes the two conditions alternatives instead of both required.
    """

    result: PeerConnectionState
    ice: frozenset[IceConnectionState] | None
    dtls_quantifier: Quantifier | None = None
    dtls: frozenset[DtlsTransportState] = frozenset()
    either: bool = False

    def matches(
        self, ice: IceConnectionState, dtls: frozenset[DtlsTransportState]
    ) -> bool:
        ice_ok = self.ice is None or ice in self.ice
        if self.dtls_quantifier is None:
            dtls_ok = True
        elif self.dtls_quantifier is Quantifier.ANY:
            dtls_ok = not dtls.isdisjoint(self.dtls)
        else:
            dtls_ok = dtls <= self.dtls
        if self.either:
            return (self.ice is not None and ice_ok) or (
                self.dtls_quantifier is not None and dtls_ok
            )
        return ice_ok and dtls_ok


_ICE_UP = frozenset({IceConnectionState.CONNECTED, IceConnectionState.COMPLETED})

CONNECTION_RULES: tuple[ConnectionRule, ...] = (
    ConnectionRule(
        PeerConnectionState.FAILED,
        ice=frozenset({IceConnectionState.FAILED}),
        dtls_quantifier=Quantifier.ANY,
        dtls=frozenset({_D.FAILED}),
        either=True,
    ),
    ConnectionRule(
        PeerConnectionState.DISCONNECTED,
        ice=frozenset({IceConnectionState.DISCONNECTED}),
    ),
    ConnectionRule(
        PeerConnectionState.NEW,
        ice=frozenset({IceConnectionState.NEW}),
        dtls_quantifier=Quantifier.ALL,
        dtls=frozenset({_D.NEW, _D.CLOSED}),
    ),
    ConnectionRule(
        PeerConnectionState.CONNECTED,
        ice=_ICE_UP,
        dtls_quantifier=Quantifier.ALL,
        dtls=frozenset({_D.CONNECTED, _D.CLOSED}),
    ),
)
"""webrtc-pc RTCPeerConnectionState, after "closed": first matching row wins, and
"connecting" is what is left when no row matches."""

# The W3C text's own "connected" row: iceConnectionState "connected" only.
_W3C_LITERAL_CONNECTED = ConnectionRule(
    PeerConnectionState.CONNECTED,
    ice=frozenset({IceConnectionState.CONNECTED}),
    dtls_quantifier=Quantifier.ALL,
    dtls=frozenset({_D.CONNECTED, _D.CLOSED}),
)
_W3C_LITERAL_RULES = (*CONNECTION_RULES[:-1], _W3C_LITERAL_CONNECTED)


def ice_connection_state(
    ice_states: Iterable[IceTransportState | str], *, closed: bool = False
) -> IceConnectionState:
    """Aggregate ICE transport states into `RTCIceConnectionState`.

    :param ice_states: the `RTCIceTransportState` of every ICE transport of the
        connection, each transport once (W3C strings or
        [`IceTransportState`][rtcstate.IceTransportState]).
    :param closed: the connection's `[[IsClosed]]` slot: `close()` was called.
    :raises ValueError: for a value that is not an `RTCIceTransportState`.
    """
    ice = members_of(IceTransportState, ice_states, "ICE transport state")
    if closed:
        return IceConnectionState.CLOSED
    return _first_ice_connection_row(ice)


# The inputs are small sets of enum members, so each answer is worked out once.
@functools.lru_cache(maxsize=512)
def _first_ice_connection_row(ice: frozenset[IceTransportState]) -> IceConnectionState:
    for rule in ICE_CONNECTION_RULES:
        if rule.matches(ice):
            return rule.result
    raise AssertionError(
        f"no RTCIceConnectionState row matches {sorted(ice)}"
    )  # pragma: no cover


@functools.lru_cache(maxsize=1024)
def _first_connection_row(
    ice: IceConnectionState, dtls: frozenset[DtlsTransportState], w3c_literal: bool
) -> PeerConnectionState:
    rules = _W3C_LITERAL_RULES if w3c_literal else CONNECTION_RULES
    for rule in rules:
        if rule.matches(ice, dtls):
            return rule.result
    return PeerConnectionState.CONNECTING


def connection_state(
    ice_connection: IceConnectionState | str,
    dtls_states: Iterable[DtlsTransportState | str],
    *,
    closed: bool = False,
    w3c_literal: bool = False,
) -> PeerConnectionState:
    """Aggregate into `RTCPeerConnectionState`.

    :param ice_connection: the connection's `iceConnectionState` (from
        [`ice_connection_state`][rtcstate.rules.ice_connection_state]).
    :param dtls_states: the `RTCDtlsTransportState` of every DTLS transport, each
        transport once.
    :param closed: `close()` was called.
    :param w3c_literal: read the W3C text literally, so that ICE `completed` with
        connected DTLS gives `connecting` (libwebrtc and MDN say `connected`,
        the default).
    :raises ValueError: for a value outside the W3C enumerations.
    """
    try:
        ice = IceConnectionState(ice_connection)
    except ValueError:
        raise ValueError(
            f"iceConnectionState: {ice_connection!r} is not an RTCIceConnectionState"
        ) from None
    dtls = members_of(DtlsTransportState, dtls_states, "DTLS transport state")
    if closed or ice is IceConnectionState.CLOSED:
        return PeerConnectionState.CLOSED
    return _first_connection_row(ice, dtls, w3c_literal)


# --- one ICE transport --------------------------------------------------------

NATIVE_ICE_STATES = frozenset({"new", "checking", "completed", "failed", "closed"})
"""aiortc's RTCIceTransport.state values. aiortc says "completed" as soon as a pair is
nominated (its checks then stop), and never "connected"/"disconnected"."""


def ice_transport_state(
    native: str,
    *,
    has_remote_candidates: bool,
    local_gathering_complete: bool,
    remote_end_of_candidates: bool,
    liveness: Liveness | str = Liveness.ALIVE,
    restart: str | None = None,
) -> IceTransportState:
    """Derive one transport's `RTCIceTransportState` (the single place it is done).

    :param native: what aiortc's `RTCIceTransport.state` says.
    :param has_remote_candidates: the transport knows at least one remote
        candidate. Without one, W3C says `new` even though aiortc says
        `checking` once started.
    :param local_gathering_complete: the ICE gatherer finished gathering.
    :param remote_end_of_candidates: the remote signalled end-of-candidates.
    :param liveness: what the liveness monitor says of the selected pair.
        It only matters once a pair is in use.
    :param restart: `"checking"` while an ICE restart's checks run: the
        transport stays `connected` while its old pair still has consent, and
        is `checking` otherwise (W3C "checking": consent checks have failed on
        every previously successful pair); `"failed"` when they failed.
    :returns: `completed` exactly when W3C's definition holds: gathering done,
        remote end-of-candidates received, checks finished and a pair in use.
    """
    if native not in NATIVE_ICE_STATES:
        raise ValueError(
            f"aiortc ICE transport state {native!r} is not one of "
            f"{sorted(NATIVE_ICE_STATES)}"
        )
    live = Liveness(liveness)
    if native == "closed":
        return IceTransportState.CLOSED
    if restart == "failed":
        return IceTransportState.FAILED
    if restart == "checking":
        if native == "completed" and live is Liveness.ALIVE:
            return IceTransportState.CONNECTED
        return IceTransportState.CHECKING
    if native == "failed":
        return IceTransportState.FAILED
    if native == "new" or (not has_remote_candidates and native == "checking"):
        return IceTransportState.NEW
    if native == "checking":
        return IceTransportState.CHECKING
    # native "completed": a pair is nominated and aioice's checks have stopped.
    if live is Liveness.FAILED:
        return IceTransportState.FAILED
    if live is Liveness.DISCONNECTED:
        return IceTransportState.DISCONNECTED
    if local_gathering_complete and remote_end_of_candidates:
        return IceTransportState.COMPLETED
    return IceTransportState.CONNECTED


def next_ice_transport_state(
    previous: IceTransportState,
    derived: IceTransportState,
    *,
    restarted: bool = False,
) -> IceTransportState:
    """The state to report next, given the last reported one.

    A jump over a state is split into steps, one per call (the web-platform
    tests expect new, checking, connected, completed):

    * from `new`, a working pair reports `checking` first. That is a remote
      learnt only from its checks (a peer-reflexive candidate, W3C
      "RTCIceTransportState": it counts as a remote candidate), which aiortc
      reports by no event before the pair is selected;
    * a transport that has never been connected reports `connected` before
      `completed`.

    `closed` is terminal; `failed` is too, until an ICE restart (`restarted`:
    one began in this step), which moves it on (W3C: to `checking`).
    """
    if previous in (IceTransportState.FAILED, IceTransportState.CLOSED):
        if derived is IceTransportState.CLOSED:
            return derived
        if not (restarted and previous is IceTransportState.FAILED):
            return previous
    if previous is IceTransportState.NEW and derived in _IN_USE:
        return IceTransportState.CHECKING
    if (
        derived is IceTransportState.COMPLETED
        and previous is IceTransportState.CHECKING
    ):
        return IceTransportState.CONNECTED
    return derived


# a pair is in use (selected), whatever its liveness
_IN_USE = frozenset(
    {
        IceTransportState.CONNECTED,
        IceTransportState.COMPLETED,
        IceTransportState.DISCONNECTED,
    }
)
