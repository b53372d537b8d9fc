"""What getStats() reads of aiortc and aioice (see the package's docstring)."""

from __future__ import annotations

from typing import Any

from ._base import _changed

# --- getStats() ------------------------------------------------------------------
# What rtcstate.stats reads to report the ICE side of getStats(), which aiortc 1.16
# leaves out.


def dtls_stats(transport: Any) -> Any:
    """aiortc's own `RTCTransportStats` of a DTLS transport (its id, which the RTP
    stats name as `transportId`, and its DTLS packet and byte counts)."""
    # RTCDtlsTransport._get_stats(): aiortc adds it to getStats() only through its
    # senders and receivers, so a data-channel-only connection never shows it
    try:
        get_stats = transport._get_stats
    except AttributeError:
        raise _changed("aiortc's RTCDtlsTransport has no _get_stats") from None
    return get_stats().get(transport._stats_id)


def check_list(connection: Any) -> list[Any]:
    """A copy of aioice's check list: the candidate pairs it holds."""
    # Connection._check_list: the pairs aioice checks (and kept once checked)
    return list(connection._check_list)


def pair_candidates(pair: Any) -> tuple[Any, Any]:
    """The local and remote aioice `Candidate` of a CandidatePair."""
    # CandidatePair.local_candidate (the protocol's candidate), remote_candidate
    return pair.local_candidate, pair.remote_candidate


def pair_state(pair: Any) -> tuple[str, bool]:
    """A CandidatePair's check state as W3C's RTCStatsIceCandidatePairState
    (`"frozen"`, `"waiting"`, `"in-progress"`, `"succeeded"`, `"failed"`) and
    whether it is nominated."""
    # CandidatePair.state (an enum named as W3C's states, upper case) and nominated
    state: str = pair.state.name.lower().replace("_", "-")
    return state, bool(pair.nominated)


def candidate_fields(candidate: Any) -> tuple[str, str, int, str]:
    """An aioice `Candidate`'s type, host, port and transport protocol (lower case)."""
    # Candidate.type, host, port, transport: public attributes of aioice's class
    return (
        str(candidate.type),
        str(candidate.host),
        int(candidate.port),
        str(candidate.transport).lower(),
    )


# set by rtcstate's gathering on each relayed candidate it adds
RELAY_PROTOCOL = "_rtcstate_relay_protocol"


def relay_protocol(connection: Any, candidate: Any) -> str | None:
    """How the local relayed `candidate` reaches its TURN server (`"udp"`,
    `"tcp"` or `"tls"`), or `None` for another candidate or without a server."""
    if candidate.type != "relay":
        return None
    told = getattr(candidate, RELAY_PROTOCOL, None)  # rtcstate's gathering
    if told is not None:
        return str(told)
    # Connection.turn_server, turn_transport, turn_ssl: aioice's one TURN server
    if connection.turn_server is None:
        return None
    return "tls" if connection.turn_ssl else str(connection.turn_transport).lower()


def local_username(connection: Any) -> str:
    """The local ICE username fragment."""
    # Connection.local_username: a public property, read here with the rest
    username: str = connection.local_username
    return username
