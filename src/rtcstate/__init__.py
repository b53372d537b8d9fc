"""rtcstate: trustworthy WebRTC connection state for aiortc.

`PeerConnection` is a drop-in `aiortc.RTCPeerConnection` whose
`connectionState` and `iceConnectionState` follow the W3C webrtc-pc rules;
[`watch`][rtcstate.watch] gives the same for a connection created elsewhere. The rules
themselves are pure functions in [`rtcstate.rules`][].
"""

from __future__ import annotations

from ._events import (
    Candidate,
    Cause,
    SelectedCandidatePair,
    StateChange,
    TransportChange,
    wall_time,
)
from ._feed import StateChanges, UnreachableStateError
from ._options import DEFAULT_HISTORY_SIZE
from ._peerconnection import PeerConnection
from ._recovery import Recovery, RecoveryAttempt, recover
from ._shims import InternalsChangedError
from ._watcher import ConnectionWatcher, watch
from .liveness import LivenessConfig
from .states import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    Liveness,
    PeerConnectionState,
)
from .validation import parse_candidate

__all__ = [
    "DEFAULT_HISTORY_SIZE",
    "Candidate",
    "Cause",
    "ConnectionWatcher",
    "DtlsTransportState",
    "IceConnectionState",
    "IceTransportState",
    "InternalsChangedError",
    "Liveness",
    "LivenessConfig",
    "PeerConnection",
    "PeerConnectionState",
    "Recovery",
    "RecoveryAttempt",
    "SelectedCandidatePair",
    "StateChange",
    "StateChanges",
    "TransportChange",
    "UnreachableStateError",
    "parse_candidate",
    "recover",
    "wall_time",
    "watch",
]

__version__ = "0.1.0"
