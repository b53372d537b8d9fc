"""Records of state changes: what changed, when, and why."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Literal

from .states import IceConnectionState, PeerConnectionState

__all__ = [
    "Candidate",
    "Cause",
    "SelectedCandidatePair",
    "StateChange",
    "TransportChange",
    "wall_time",
]


def wall_time(loop_time: float) -> float:
    """The wall-clock time (POSIX seconds, as `time.time()`) of a loop time
    stamped on a record, to line it up with logs:
    `datetime.fromtimestamp(change.wall_time)`.

    Records carry the event loop's `time()` because it never jumps. asyncio's
    loop (and uvloop's) reads `time.monotonic()`, so the conversion is exact as
    long as the wall clock was not stepped (NTP, a suspend) since the record was
    made; it is made again at each call.
    """
    return _time.time() - (_time.monotonic() - loop_time)


CauseKind = Literal["ice", "dtls", "transports", "close"]
Attribute = Literal["connectionState", "iceConnectionState"]
"""The two public state attributes of a peer connection."""


@dataclass(frozen=True)
class Cause:
    """Why an aggregate state changed.

    :ivar kind: `"ice"` or `"dtls"` when one transport moved, `"transports"`
        when the set of transports changed (one added or bundled away), `"close"`
        when the application called `close()`.
    :ivar transport: a label for the transport that moved, for example
        `"ice#0 (mids 0,1)"`; `None` for the other kinds.
    :ivar state: the state that transport moved to (its `RTCIceTransportState`
        or `RTCDtlsTransportState`), or `None`.
    :ivar detail: free text with more, for example what aiortc reported.
    """

    kind: CauseKind
    transport: str | None = None
    state: str | None = None
    detail: str | None = None

    def __str__(self) -> str:
        if self.kind == "close":
            return (
                f"close() called ({self.detail})" if self.detail else "close() called"
            )
        text = f"{self.transport} -> {self.state}" if self.transport else self.kind
        return f"{text} ({self.detail})" if self.detail else text


class _Stamped:
    """A record stamped with the event loop's `time`."""

    __slots__ = ()
    time: float

    @property
    def wall_time(self) -> float:
        """When it happened, on the wall clock (see
        [`wall_time`][rtcstate.wall_time])."""
        return wall_time(self.time)


@dataclass(frozen=True)
class StateChange(_Stamped):
    """One change of `connectionState` or `iceConnectionState`.

    Handlers of `connectionstatechange` / `iceconnectionstatechange` that take
    one argument receive this, so they know the exact state that fired them even
    when they run after a later change.

    :ivar attribute: `"connectionState"` or `"iceConnectionState"`.
    :ivar previous: the value before the change.
    :ivar current: the value after it.
    :ivar time: the event loop's `time()` when it happened (`wall_time` gives
        it on the wall clock).
    :ivar cause: why it happened.
    """

    attribute: Attribute
    previous: PeerConnectionState | IceConnectionState
    current: PeerConnectionState | IceConnectionState
    time: float
    cause: Cause

    @property
    def event(self) -> str:
        """The event name this change fires (`"connectionstatechange"` ...)."""
        return self.attribute.lower() + "change"

    def __str__(self) -> str:
        return f"{self.attribute} {self.previous} -> {self.current} [{self.cause}]"


@dataclass(frozen=True)
class TransportChange(_Stamped):
    """One change of one transport's state (`RTCIceTransportState` as rtcstate
    derives it, or `RTCDtlsTransportState`), whether or not it moved the
    connection's aggregate states.

    `previous == current` records a change in how the state is derived, not in
    the state: liveness switched off for the transport by an internal error
    (`detail` says `liveness off: internal error (...)`).

    :ivar kind: `"ice"` or `"dtls"`.
    :ivar transport: the transport's label, for example `"ice#0 (mid 0)"`.
    :ivar previous: its state before.
    :ivar current: its state after.
    :ivar time: the event loop's `time()` when it happened (`wall_time` gives
        it on the wall clock).
    :ivar detail: more, for example the liveness monitor's reason.
    :ivar remote_hangup: a DTLS transport closed by the remote (its
        close_notify): the remote hung up. The connection stays open, as in a
        browser, until the application closes it (or
        `close_on_remote_hangup=True` does); this change also fires
        `"remotehangup"`.
    """

    kind: Literal["ice", "dtls"]
    transport: str
    previous: str
    current: str
    time: float
    detail: str | None = None
    remote_hangup: bool = False

    @property
    def event(self) -> str:
        """The event name this change fires: `"transportstatechange"`, an
        rtcstate extension (no W3C event reports one transport's changes)."""
        return "transportstatechange"

    def __str__(self) -> str:
        text = f"{self.transport} {self.previous} -> {self.current}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ICE candidate of a selected pair, as `RTCIceCandidateStats` names its
    fields.

    :ivar candidate_type: `"host"`, `"srflx"`, `"prflx"` or `"relay"`.
    :ivar address: its IP address.
    :ivar port: its port.
    :ivar protocol: `"udp"` or `"tcp"`.
    :ivar relay_protocol: for a local relayed candidate, how it reaches the TURN
        server (`"udp"`, `"tcp"` or `"tls"`); `None` otherwise.
    """

    candidate_type: str
    address: str
    port: int
    protocol: str
    relay_protocol: str | None = None

    def __str__(self) -> str:
        return f"{self.candidate_type} {self.address}:{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class SelectedCandidatePair(_Stamped):
    """The selected candidate pair of one ICE transport
    (`RTCIceTransport.getSelectedCandidatePair()`), with its round-trip time.

    It is also the record of the `"selectedcandidatepairchange"` event, which
    webrtc-pc fires on the `RTCIceTransport`; rtcstate fires it on the connection
    (or watcher), and `transport` says which ICE transport it is about.

    :ivar transport: the ICE transport's label, for example `"ice#0 (mid 0)"`.
    :ivar local: the local candidate.
    :ivar remote: the remote candidate.
    :ivar current_round_trip_time: seconds between sending the latest answered
        keepalive and its answer; `None` before the first answer (or with
        `liveness=None`, which sends none).
    :ivar time: the event loop's `time()` when it was read.
    """

    transport: str
    local: Candidate
    remote: Candidate
    current_round_trip_time: float | None
    time: float

    @property
    def event(self) -> str:
        """The event name this record fires: `"selectedcandidatepairchange"`."""
        return "selectedcandidatepairchange"

    def __str__(self) -> str:
        return f"{self.transport} {self.local} -> {self.remote}"
