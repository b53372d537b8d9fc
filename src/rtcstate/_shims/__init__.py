"""Every use of an aiortc or aioice private attribute, in one package.

rtcstate needs facts aiortc's public API does not give (the remote's end-of-candidates,
the selected candidate pair and its socket), and behaviour it cannot reach publicly
(switching off the self-close, sending a keepalive on the selected pair, ending
consent). Each is read or set here and nowhere else (the tap on the selected pair,
[`rtcstate._tap`][], reaches aioice only through the functions below), checked by
[`check`][rtcstate._shims.check] when a connection is wrapped and by
[`nominated_pair`][rtcstate._shims.nominated_pair] and
[`connection_hooks`][rtcstate._shims.connection_hooks] when a transport is, and covered
by `tests/test_internals.py`, so an aiortc or aioice release that renames them fails
loudly instead of silently giving wrong states. Verified with aiortc 1.16.0 and aioice
0.13.0 (the ranges pinned in pyproject.toml).

One module per thing reached: `peerconnection` (aiortc's peer connection), `pair`
(the selected pair), `life` (the connection's close, loopback and consent),
`stats`, `restart`, `sctp` and `mdns`; `_base` holds the error they raise. Callers
use the names re-exported here.
"""

from __future__ import annotations

from ._base import InternalsChangedError
from .life import (
    ConnectionHooks,
    connection_hooks,
    restore_consent,
    take_over_consent,
)
from .mdns import tolerate_mdns_answers
from .pair import (
    DatagramReceived,
    aioice_keepalive,
    answers_only,
    closing,
    datagram_transport,
    hand_route,
    ice_closing,
    nominated,
    nominated_pair,
    nomination_changes_nothing,
    pair_component,
    pair_local_address,
    pair_protocol,
    pair_remote_addr,
    prflx_priority,
    send_datagram,
    send_stun,
    tie_breaker,
    transport_closing,
    wrap_datagram_received,
)
from .peerconnection import (
    check,
    connection,
    connection_in_use,
    disable_self_close,
    remote_end_of_candidates,
    set_in_use,
)
from .restart import (
    check_restart,
    data_queue,
    fresh_connection,
    gather_again,
    gathered,
    ice_media,
    install_connection,
    monitor_connections,
    reinstall_connection,
    remote_parameters,
    set_data_queue,
    set_datapath,
    set_native_state,
    set_remote_end_of_candidates,
    set_remote_parameters,
)
from .sctp import guard_sends, resend_sctp
from .stats import (
    candidate_fields,
    check_list,
    dtls_stats,
    local_username,
    pair_candidates,
    pair_state,
    relay_protocol,
)

__all__ = [
    "ConnectionHooks",
    "DatagramReceived",
    "InternalsChangedError",
    "aioice_keepalive",
    "answers_only",
    "candidate_fields",
    "check",
    "check_list",
    "check_restart",
    "closing",
    "connection",
    "connection_hooks",
    "connection_in_use",
    "data_queue",
    "datagram_transport",
    "disable_self_close",
    "dtls_stats",
    "fresh_connection",
    "gather_again",
    "gathered",
    "guard_sends",
    "hand_route",
    "ice_closing",
    "ice_media",
    "install_connection",
    "local_username",
    "monitor_connections",
    "nominated",
    "nominated_pair",
    "nomination_changes_nothing",
    "pair_candidates",
    "pair_component",
    "pair_local_address",
    "pair_protocol",
    "pair_remote_addr",
    "pair_state",
    "prflx_priority",
    "reinstall_connection",
    "relay_protocol",
    "remote_end_of_candidates",
    "remote_parameters",
    "resend_sctp",
    "restore_consent",
    "send_datagram",
    "send_stun",
    "set_data_queue",
    "set_datapath",
    "set_in_use",
    "set_native_state",
    "set_remote_end_of_candidates",
    "set_remote_parameters",
    "take_over_consent",
    "tie_breaker",
    "tolerate_mdns_answers",
    "transport_closing",
    "wrap_datagram_received",
]
