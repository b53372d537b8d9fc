"""rtcstate.PeerConnection over real aiortc peers on this machine."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCBundlePolicy, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import rtcstate
from rtcstate.testing import connect, negotiate
from tests.support.peers import Recorder
from tests.support.sdp import strip_candidates, tamper_fingerprints

pytestmark = pytest.mark.asyncio


def without_bundle(sdp: str) -> str:
    lines = [line for line in sdp.splitlines() if not line.startswith("a=group:BUNDLE")]
    return "\r\n".join(lines) + "\r\n"


def counted_transports(pc: rtcstate.PeerConnection) -> dict[str, str]:
    return pc.transport_states()


async def test_is_a_drop_in_aiortc_connection(pcs) -> None:
    pc = pcs()
    assert isinstance(pc, RTCPeerConnection)
    assert pc.connectionState == "new"
    assert pc.iceConnectionState == "new"
    assert f"{pc.connectionState}/{pc.iceConnectionState}" == "new/new"
    assert pc.signalingState == "stable"


async def test_data_channel_only(pcs) -> None:
    a, b = pcs(), pcs()
    rec_a, rec_b = Recorder(a), Recorder(b)
    a.createDataChannel("x")
    await connect(a, b)
    for pc in (a, b):
        assert pc.connectionState == "connected"
    assert await b.wait_for_ice_connection_state("completed", timeout=5) == "completed"
    await a.wait_for_ice_connection_state("completed", timeout=5)
    for rec in (rec_a, rec_b):
        assert rec.values("connectionstatechange") == ["connecting", "connected"]
        # aiortc's candidates arrive in the SDP with end-of-candidates, so the
        # transport completes right after connecting
        assert rec.values("iceconnectionstatechange") == [
            "checking",
            "connected",
            "completed",
        ]
    assert len(counted_transports(a)) == 2  # one ICE + one DTLS


async def test_ice_event_fires_before_connection_event_with_both_values_set(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    seen: list[tuple[str, str, str]] = []
    a.on(
        "iceconnectionstatechange",
        lambda: seen.append(("ice", a.iceConnectionState, a.connectionState)),
    )
    a.on(
        "connectionstatechange",
        lambda: seen.append(("conn", a.iceConnectionState, a.connectionState)),
    )
    a.createDataChannel("x")
    await connect(a, b)
    # checking moves both: the ICE event comes first and already sees both values
    assert seen[0] == ("ice", "checking", "connecting")
    assert seen[1] == ("conn", "checking", "connecting")
    # never a non-change
    for previous, current in zip(seen, seen[1:]):
        assert previous != current or previous[0] != current[0]


async def test_unbundled_audio_video_data_counts_every_transport(pcs) -> None:
    a = pcs(bundlePolicy=RTCBundlePolicy.MAX_COMPAT)
    b = pcs(bundlePolicy=RTCBundlePolicy.MAX_COMPAT)
    rec = Recorder(a)
    a.addTrack(AudioStreamTrack())
    a.addTrack(VideoStreamTrack())
    a.createDataChannel("x")
    b.on(
        "track",
        lambda track: b.addTrack(
            AudioStreamTrack() if track.kind == "audio" else VideoStreamTrack()
        ),
    )
    # aiortc always offers a BUNDLE group; without it nothing is bundled
    await connect(a, b, mangle=without_bundle, timeout=15)
    states = counted_transports(a)
    assert sum(label.startswith("ice#") for label in states) == 3
    assert sum(label.startswith("dtls#") for label in states) == 3
    # connected only once every transport is: the last DTLS to connect is the cause
    assert rec.values("connectionstatechange") == ["connecting", "connected"]
    connected = [
        c
        for c in a.state_history
        if c.current == "connected" and c.attribute == "connectionState"
    ]
    assert connected[0].cause.kind == "dtls"
    assert all(state in ("connected", "completed") for state in states.values())


async def test_bundled_audio_video_data_shares_one_transport(pcs) -> None:
    a = pcs(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    b = pcs(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    a.addTransceiver("audio")
    a.addTransceiver("video")
    a.createDataChannel("x")
    await connect(a, b)
    for pc in (a, b):
        states = counted_transports(pc)
        assert [label.split()[0] for label in states] == ["ice#0", "dtls#0"], states
        assert "mid 0,1,2" in next(iter(states))


async def test_balanced_policy_bundles_to_one_after_answer(pcs) -> None:
    a, b = pcs(), pcs()  # aiortc's default bundle policy is balanced
    a.addTransceiver("audio")
    a.addTransceiver("video")
    await connect(a, b)
    # before the answer the offerer had two transports; the bundled-away one is dropped
    assert len(counted_transports(a)) == 2


async def test_handlers_may_take_the_change_and_learn_the_exact_state(pcs) -> None:
    a, b = pcs(), pcs()
    seen_async: list[tuple[str, str]] = []
    seen_sync: list[str] = []
    no_arg_calls: list[str] = []

    @a.on("connectionstatechange")
    async def slow(change: rtcstate.StateChange) -> None:
        await asyncio.sleep(0.05)  # runs after later changes: still gets its own
        seen_async.append((str(change.current), str(a.connectionState)))

    a.on("connectionstatechange", lambda change: seen_sync.append(change.current))
    a.on("connectionstatechange", lambda: no_arg_calls.append(a.connectionState))
    a.createDataChannel("x")
    await connect(a, b)
    await asyncio.sleep(0.1)
    assert [s for s, _ in seen_async] == ["connecting", "connected"]
    assert seen_sync == ["connecting", "connected"]
    assert no_arg_calls == ["connecting", "connected"]


async def test_close_sets_closed_at_once_fires_nothing_and_records_the_cause(
    connected_pair,
) -> None:
    a, _ = connected_pair
    fired: list[str] = []
    for event in (
        "connectionstatechange",
        "iceconnectionstatechange",
        "signalingstatechange",
    ):
        a.on(event, lambda event=event: fired.append(event))
    closing = a.close()
    assert (a.connectionState, a.iceConnectionState) == ("closed", "closed")
    await closing
    await asyncio.sleep(0.1)
    assert fired == []
    last = a.state_history[-2:]
    assert [(c.attribute, c.previous, c.current) for c in last] == [
        ("iceConnectionState", "completed", "closed"),
        ("connectionState", "connected", "closed"),
    ]
    assert all(c.cause.kind == "close" for c in last)


async def test_remote_hang_up_is_not_reported_as_closed(pcs) -> None:
    a, b = pcs(), pcs()
    channel = a.createDataChannel("x")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    rec = Recorder(a)
    await connect(a, b)
    await asyncio.wait_for(opened.wait(), 5)
    dtls = a.sctp.transport
    dtls_closed = asyncio.Event()
    dtls.on("statechange", lambda: dtls.state == "closed" and dtls_closed.set())
    await b.close()
    await asyncio.wait_for(dtls_closed.wait(), 5)  # b's close_notify arrived
    # aiortc would now close `a` by itself and report "closed" within ms
    await asyncio.sleep(0.3)
    assert a.transport_states()["dtls#0 (mid 0)"] == "closed"
    assert (
        a.connectionState == "connected"
    )  # W3C: DTLS closed still counts as connected
    assert a.signalingState == "stable"
    assert "closed" not in rec.values("connectionstatechange")
    assert a.state_history[-1].current == "connected"


async def test_dtls_fingerprint_mismatch_fails_and_never_closes(pcs) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("x")
    rec = Recorder(a)

    await negotiate(a, b, mangle=tamper_fingerprints)
    assert (
        await a.wait_for_connection_state("failed", "connected", timeout=15) == "failed"
    )
    assert rec.values("connectionstatechange") == ["connecting", "failed"]
    with pytest.raises(rtcstate.UnreachableStateError, match="failed"):
        await a.wait_for_connection_state("connected", timeout=1)


async def test_listeners_never_see_aiortc_own_emissions(pcs) -> None:
    a, b = pcs(), pcs()
    ice_seen: list[str] = []
    conn_seen: list[str] = []
    # no-argument handlers would also be called by aiortc's own emissions
    a.on("iceconnectionstatechange", lambda: ice_seen.append(a.iceConnectionState))
    a.on("connectionstatechange", lambda: conn_seen.append(a.connectionState))
    a.createDataChannel("x")
    await connect(a, b)
    await a.wait_for_ice_connection_state("completed", timeout=5)
    await asyncio.sleep(0.1)
    await a.close()
    assert ice_seen == ["checking", "connected", "completed"]
    assert conn_seen == ["connecting", "connected"]
    assert all(type(v) is rtcstate.IceConnectionState for v in ice_seen)


async def test_close_from_a_sync_handler_stops_the_rest_of_the_step(pcs) -> None:
    a, b = pcs(), pcs()
    fired: list[str] = []
    closing = []

    def on_ice(change: rtcstate.StateChange) -> None:
        fired.append(f"ice {change.current}")
        closing.append(a.close())  # closed at the call; awaited below

    a.on("iceconnectionstatechange", on_ice)
    a.on("connectionstatechange", lambda c: fired.append(f"conn {c.current}"))
    a.createDataChannel("x")
    await negotiate(a, b)
    await a.wait_for_connection_state("closed", timeout=10)
    await asyncio.gather(*closing)
    await asyncio.sleep(0.1)
    # the same step would have fired "conn connecting": close() stopped it
    assert fired == ["ice checking"]
    assert [c.current for c in a.state_history] == [
        "checking",
        "connecting",
        "closed",
        "closed",
    ]


async def test_await_close_in_an_async_handler_stops_the_rest_of_the_step(
    pcs,
) -> None:
    # The handler starts inside the change, so its close() lands before the
    # connection event of the same step, as the sync handler's does.
    a, b = pcs(), pcs()
    fired: list[str] = []

    async def on_ice(change: rtcstate.StateChange) -> None:
        fired.append(f"ice {change.current}")
        await a.close()
        fired.append("closed")

    a.on("iceconnectionstatechange", on_ice)
    a.on("connectionstatechange", lambda c: fired.append(f"conn {c.current}"))
    a.createDataChannel("x")
    await negotiate(a, b)
    await a.wait_for_connection_state("closed", timeout=10)
    await a.wait_for_complete()
    assert fired == ["ice checking", "closed"]
    assert a.connectionState == "closed"


async def test_raising_handlers_never_stop_tracking_or_other_handlers(
    pcs, caplog
) -> None:
    a, b = pcs(), pcs()
    seen: list[str] = []

    def bad_sync(change: rtcstate.StateChange) -> None:
        raise RuntimeError(f"sync handler failed at {change.current}")

    async def bad_async(change: rtcstate.StateChange) -> None:
        raise RuntimeError(f"async handler failed at {change.current}")

    a.on("connectionstatechange", bad_sync)
    a.on("connectionstatechange", bad_async)
    a.on("connectionstatechange", lambda change: seen.append(str(change.current)))
    a.createDataChannel("x")
    with caplog.at_level("ERROR", logger="rtcstate"):
        await connect(a, b)
        await asyncio.sleep(0.05)
    assert seen == ["connecting", "connected"]
    logged = sorted(str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert logged == [
        "async handler failed at connected",
        "async handler failed at connecting",
        "sync handler failed at connected",
        "sync handler failed at connecting",
    ]


async def test_a_peer_reflexive_remote_reads_checking_before_connected(pcs) -> None:
    # The answerer is given no candidate of the offerer: it learns the offerer
    # only from its checks (a peer-reflexive candidate), which aiortc reports by
    # no event. W3C counts it as a remote candidate, so checking comes first.
    a, b = pcs(), pcs()
    rec_b = Recorder(b)
    a.createDataChannel("x")
    await negotiate(a, b, mangle_offer=strip_candidates)
    await b.wait_for_connection_state("connected", timeout=10)
    remote = b.sctp.transport.transport.getRemoteCandidates()
    assert [c.type for c in remote] == ["prflx"]  # learnt, none signalled
    moves = [(c.previous, c.current) for c in b.transport_history if c.kind == "ice"]
    assert moves[:2] == [("new", "checking"), ("checking", "connected")], moves
    assert rec_b.values("iceconnectionstatechange")[:2] == ["checking", "connected"]
