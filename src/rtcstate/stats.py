"""The ICE side of `getStats()`, which aiortc 1.16 leaves out: candidate-pair,
candidate and transport stats under the W3C webrtc-stats names.

The candidates and pairs are read from aiortc's ICE agent (aioice); the counters and
round-trip times are kept by rtcstate's liveness monitor on the selected pair, as
plain numbers, as the datagrams pass. Nothing is sent to build a report: the round
trip is that of rtcstate's own keepalives.

The ids follow the transport's: aiortc names a DTLS transport's stats
`transport_<n>` (its RTP stats' `transportId`), a candidate pair is
`RTCIceCandidatePair_<transport>_<local>_<remote>` and a candidate
`RTCIceCandidate_<transport>_<L or R>_<candidate>`, where a candidate is named
`<type>_<address>_<port>_<protocol>`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiortc import RTCDtlsTransport, RTCIceTransport
from aiortc.stats import RTCStats, RTCStatsReport
from aiortc.stats import RTCTransportStats as _AiortcTransportStats

from . import _shims
from ._events import Candidate, SelectedCandidatePair
from ._tap import SelectedPair

__all__ = [
    "RTCIceCandidatePairStats",
    "RTCIceCandidateStats",
    "RTCTransportStats",
    "TransportStatsInput",
    "add_transport_stats",
    "selected_candidate_pair",
]


@dataclass
class RTCIceCandidatePairStats(RTCStats):
    """webrtc-stats `RTCIceCandidatePairStats` (type `"candidate-pair"`).

    The counters and times are those of the selected pair only, counted by rtcstate's
    tap since its liveness monitor started on that pair (`None` on the other pairs,
    and with `liveness=None`), and start again when aioice selects another pair.
    `packetsReceived`, `bytesReceived` and `lastPacketReceivedTimestamp` count
    every datagram from the remote, STUN included (W3C leaves STUN out of the
    timestamp). `packetsSent` and `bytesSent` are the DTLS transport's counts
    (every datagram but STUN goes through it, on the selected pair);
    `lastPacketSentTimestamp` is not reported (it would read the clock on every
    datagram sent). `requestsSent` and `consentRequestsSent` count rtcstate's
    keepalives (the consent checks); `requestsReceived` the remote's binding
    requests seen on the pair (its socket or TURN allocation), and
    `responsesSent` the answers rtcstate built itself (aioice answers the
    others). Round-trip times are in
    seconds, timestamps in milliseconds since the epoch, as in the W3C text.
    """

    transportId: str
    localCandidateId: str
    remoteCandidateId: str
    state: str
    nominated: bool
    packetsSent: int | None = None
    packetsReceived: int | None = None
    bytesSent: int | None = None
    bytesReceived: int | None = None
    lastPacketReceivedTimestamp: float | None = None
    currentRoundTripTime: float | None = None
    totalRoundTripTime: float | None = None
    requestsSent: int | None = None
    requestsReceived: int | None = None
    responsesSent: int | None = None
    responsesReceived: int | None = None
    consentRequestsSent: int | None = None


@dataclass
class RTCIceCandidateStats(RTCStats):
    """webrtc-stats `RTCIceCandidateStats` (type `"local-candidate"` or
    `"remote-candidate"`)."""

    transportId: str
    address: str
    port: int
    protocol: str
    candidateType: str
    relayProtocol: str | None = None


@dataclass
class RTCTransportStats(_AiortcTransportStats):
    """webrtc-stats `RTCTransportStats` (type `"transport"`): aiortc's, whose
    packet and byte counts are the DTLS transport's, with the ICE fields it lacks.
    `iceState` is the `RTCIceTransportState` rtcstate derives."""

    iceState: str | None = None
    iceLocalUsernameFragment: str | None = None
    selectedCandidatePairId: str | None = None
    selectedCandidatePairChanges: int = 0


@dataclass(frozen=True, slots=True)
class TransportStatsInput:
    """What rtcstate knows of one DTLS transport and its ICE transport.

    :ivar dtls: the DTLS transport (its `transport` is the ICE transport).
    :ivar ice_state: the ICE transport's state as rtcstate derives it.
    :ivar tap: the tap on its selected pair, while liveness runs there.
    :ivar pair_changes: how many times a pair was selected.
    """

    dtls: RTCDtlsTransport
    ice_state: str
    tap: SelectedPair | None
    pair_changes: int


def _candidate(candidate: Any, relay: str | None) -> Candidate:
    kind, address, port, protocol = _shims.candidate_fields(candidate)
    return Candidate(kind, address, port, protocol, relay if kind == "relay" else None)


def selected_candidate_pair(
    transport: RTCIceTransport, label: str, tap: SelectedPair | None, now: float
) -> SelectedCandidatePair | None:
    """The ICE transport's selected pair now, or `None` while there is none.

    :param label: the transport's label.
    :param tap: the tap on its selected pair, for the round trip (or `None`).
    :param now: the loop's time, stamped on the record.
    """
    pair = _shims.nominated_pair(transport)
    if pair is None:
        return None
    connection = _shims.connection_in_use(transport)
    local, remote = _shims.pair_candidates(pair)
    relay = _shims.relay_protocol(connection, local)
    rtt = tap.current_rtt if tap is not None and tap.pair is pair else None
    return SelectedCandidatePair(
        label, _candidate(local, relay), _candidate(remote, None), rtt, now
    )


def _key(candidate: Candidate) -> str:
    return (
        f"{candidate.candidate_type}_{candidate.address}_{candidate.port}_"
        f"{candidate.protocol}"
    )


def add_transport_stats(
    report: RTCStatsReport, item: TransportStatsInput, loop_now: float
) -> None:
    """Add the transport, its candidate pairs and their candidates to `report`.

    :param loop_now: the loop's time now, to turn the tap's times into W3C
        timestamps.
    """
    dtls = item.dtls
    ice = dtls.transport
    base = _shims.dtls_stats(dtls)
    if base is None:
        return
    timestamp = base.timestamp
    transport_id: str = base.id
    connection = _shims.connection_in_use(ice)
    selected = _shims.nominated_pair(ice)
    pairs = _shims.check_list(connection)
    if selected is not None and not any(p is selected for p in pairs):
        pairs.append(selected)
    # the loop's time -> milliseconds since the epoch
    offset_ms = time.time() * 1000.0 - loop_now * 1000.0
    selected_id: str | None = None
    for pair in pairs:
        local_raw, remote_raw = _shims.pair_candidates(pair)
        local = _candidate(local_raw, _shims.relay_protocol(connection, local_raw))
        remote = _candidate(remote_raw, None)
        ids = []
        for side, kind, candidate in (
            ("L", "local-candidate", local),
            ("R", "remote-candidate", remote),
        ):
            candidate_id = f"RTCIceCandidate_{transport_id}_{side}_{_key(candidate)}"
            ids.append(candidate_id)
            if candidate_id not in report:
                report.add(
                    RTCIceCandidateStats(
                        timestamp=timestamp,
                        type=kind,
                        id=candidate_id,
                        transportId=transport_id,
                        address=candidate.address,
                        port=candidate.port,
                        protocol=candidate.protocol,
                        candidateType=candidate.candidate_type,
                        relayProtocol=candidate.relay_protocol,
                    )
                )
        pair_id = f"RTCIceCandidatePair_{transport_id}_{_key(local)}_{_key(remote)}"
        if pair_id in report and pair is not selected:
            continue  # one entry per pair of candidates: the selected one's
        state, nominated = _shims.pair_state(pair)
        stats = RTCIceCandidatePairStats(
            timestamp=timestamp,
            type="candidate-pair",
            id=pair_id,
            transportId=transport_id,
            localCandidateId=ids[0],
            remoteCandidateId=ids[1],
            state=state,
            nominated=nominated,
        )
        if pair is selected:
            selected_id = pair_id
            tap = item.tap
            if tap is not None and tap.pair is pair:
                _counters(stats, tap, offset_ms)
            # every datagram aiortc sends goes through the DTLS transport, whose
            # counts these are, on aioice's selected pair (STUN is not counted)
            stats.packetsSent = base.packetsSent
            stats.bytesSent = base.bytesSent
        report.add(stats)
    report.add(
        RTCTransportStats(
            timestamp=timestamp,
            type="transport",
            id=transport_id,
            packetsSent=base.packetsSent,
            packetsReceived=base.packetsReceived,
            bytesSent=base.bytesSent,
            bytesReceived=base.bytesReceived,
            iceRole=base.iceRole,
            dtlsState=base.dtlsState,
            iceState=item.ice_state,
            iceLocalUsernameFragment=_shims.local_username(connection),
            selectedCandidatePairId=selected_id,
            selectedCandidatePairChanges=item.pair_changes,
        )
    )


def _counters(
    stats: RTCIceCandidatePairStats, tap: SelectedPair, offset_ms: float
) -> None:
    stats.packetsReceived = tap.packets_received
    stats.bytesReceived = tap.bytes_received
    if tap.last_received is not None:
        stats.lastPacketReceivedTimestamp = offset_ms + tap.last_received * 1000.0
    stats.currentRoundTripTime = tap.current_rtt
    stats.totalRoundTripTime = tap.total_rtt
    stats.responsesReceived = tap.responses_received
    stats.requestsSent = tap.requests_sent
    stats.consentRequestsSent = tap.requests_sent
    stats.requestsReceived = tap.requests_received
    stats.responsesSent = tap.responses_sent
