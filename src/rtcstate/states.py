"""State enumerations of W3C webrtc-pc.

Every member's value is the W3C string, and members *are* strings: they compare
equal to the plain string (`pc.connectionState == "failed"`), hash like it, and
print as it (`f"{state}"` gives `connected`, not `PeerConnectionState.CONNECTED`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import TypeVar


class _StrEnum(str, Enum):
    # str-mixin enums print as "Class.MEMBER" before Python 3.11's StrEnum; users
    # log these values, so make str() and format() give the W3C string everywhere.
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class IceTransportState(_StrEnum):
    """`RTCIceTransportState`: the state of one ICE transport."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class DtlsTransportState(_StrEnum):
    """`RTCDtlsTransportState`: the state of one DTLS transport."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"


class IceConnectionState(_StrEnum):
    """`RTCIceConnectionState`: the connection's aggregate ICE state."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class PeerConnectionState(_StrEnum):
    """`RTCPeerConnectionState`: the connection's aggregate state."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class Liveness(_StrEnum):
    """What a liveness monitor says of one ICE transport's selected pair.

    `ALIVE` leaves the transport's state to ICE; `DISCONNECTED` and `FAILED`
    override a connected or completed transport (see
    [`rtcstate.rules.ice_transport_state`][]).
    """

    ALIVE = "alive"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


E = TypeVar("E", bound=Enum)


def members_of(enum: type[E], values: Iterable[str], what: str) -> frozenset[E]:
    """The members of `enum` named by `values`; `ValueError` naming `what`
    for a value that is not one."""
    out: set[E] = set()
    for value in values:
        try:
            out.add(enum(value))
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in enum)
            raise ValueError(f"{what}: {value!r} is not one of {allowed}") from None
    return frozenset(out)
