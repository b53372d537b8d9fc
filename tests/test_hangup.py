"""A remote hang-up (the remote's DTLS close_notify), told apart from a vanished
remote: the "remotehangup" event, and close_on_remote_hangup=True for servers,
over real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcsctptransport import HeartbeatChunk

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, connect
from tests.support.peers import config

pytestmark = pytest.mark.asyncio

TIMEOUT = 10


async def _connected(offerer: RTCPeerConnection, answerer: object) -> None:
    """Connect ``offerer`` (which gets a data channel) and ``answerer`` (a
    connection or a watcher standing for one)."""
    offerer.createDataChannel("x")
    await connect(offerer, answerer, timeout=TIMEOUT)  # type: ignore[arg-type]


def _hangups(peer: object) -> asyncio.Queue[rtcstate.TransportChange]:
    queue: asyncio.Queue[rtcstate.TransportChange] = asyncio.Queue()
    peer.on("remotehangup", queue.put_nowait)  # type: ignore[attr-defined]
    return queue


async def test_a_remote_hang_up_fires_remotehangup_before_liveness_notices(
    pcs: Callable[..., rtcstate.PeerConnection],
) -> None:
    a, b = pcs(), pcs()
    await _connected(a, b)
    hangups = _hangups(b)
    await a.close()
    change = await asyncio.wait_for(hangups.get(), TIMEOUT)
    assert (change.kind, change.current) == ("dtls", "closed")
    assert change.remote_hangup and change.detail == "closed by the remote"
    assert change in b.transport_history
    # told at once: the liveness monitor has not even seen a silence yet
    assert b.connectionState == "connected"
    assert [c.current for c in b.state_history][-1] == "connected"
    # and, by default, the connection stays open as in a browser
    await asyncio.sleep(0.2)
    assert b.connectionState == "connected"
    assert hangups.empty()


async def test_close_on_remote_hangup_closes_at_once_with_the_reason(
    pcs: Callable[..., rtcstate.PeerConnection],
) -> None:
    a = pcs()
    b = rtcstate.PeerConnection(config(), close_on_remote_hangup=True)
    await _connected(a, b)
    fired: list[str] = []
    b.on("connectionstatechange", lambda: fired.append(b.connectionState))
    hangups = _hangups(b)
    await a.close()
    await asyncio.wait_for(hangups.get(), TIMEOUT)
    assert b.connectionState == b.iceConnectionState == "closed"
    closing = b.state_history[-1]
    assert str(closing.cause) == "close() called (the remote hung up)"
    assert fired == []  # as close(): no event (webrtc-pc)
    # aiortc's objects are stopped as by close()
    for _ in range(100):
        if b.sctp.transport.transport.state == "closed":
            break
        await asyncio.sleep(0.02)
    assert b.sctp.transport.transport.state == "closed"
    await b.close()  # the application's own close() after it is harmless
    assert b.connectionState == "closed"


async def test_a_watcher_can_close_the_connection_it_watches_on_a_hang_up(
    pcs: Callable[..., RTCPeerConnection],
) -> None:
    a, b = pcs(RTCPeerConnection), pcs(RTCPeerConnection)
    watcher = rtcstate.watch(b, close_on_remote_hangup=True)
    await _connected(a, watcher)
    hangups = _hangups(watcher)
    await a.close()
    await asyncio.wait_for(hangups.get(), TIMEOUT)
    assert watcher.connectionState == "closed"
    for _ in range(100):
        if b.signalingState == "closed":
            break
        await asyncio.sleep(0.02)
    assert b.signalingState == "closed"


async def test_consent_expiring_is_not_a_hang_up() -> None:
    # when consent expires rtcstate stops sending and closes aioice's connection,
    # but keeps DTLS (for an ICE restart): nothing there reads as a hang-up
    async with FaultyLink(seed=3) as link:
        a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        b = RTCPeerConnection(config())
        hangups = _hangups(a)
        try:
            a.createDataChannel("x")
            await a.setLocalDescription(await a.createOffer())
            await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
            await b.setLocalDescription(await b.createAnswer())
            await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
            await a.wait_for_connection_state("connected", timeout=TIMEOUT)
            link.cut()
            await a.wait_for_connection_state("failed", timeout=TIMEOUT)
            ice = a.sctp.transport.transport
            for _ in range(100):
                if ice.state == "failed":  # aioice's connection closed
                    break
                await asyncio.sleep(0.02)
            assert ice.state == "failed"
            await asyncio.sleep(0.2)
            dtls = [c for c in a.transport_history if c.kind == "dtls"]
            assert dtls[-1].current == "connected"
            assert a.sctp.transport.state == "connected"
            assert all(not c.remote_hangup for c in a.transport_history)
            assert hangups.empty()
        finally:
            await asyncio.gather(a.close(), b.close())


async def test_watch_warns_when_the_connection_already_has_state_listeners() -> None:
    pc = RTCPeerConnection()
    try:
        pc.on("connectionstatechange", lambda: None)
        with pytest.warns(RuntimeWarning, match="already has connectionstatechange"):
            rtcstate.watch(pc)
    finally:
        await pc.close()
    # with the quick close kept, or with no listener, nothing to say (any
    # warning is an error in this suite)
    kept = RTCPeerConnection()
    kept.on("connectionstatechange", lambda: None)
    rtcstate.watch(kept, close_on_remote_hangup=True)
    await kept.close()
    quiet = RTCPeerConnection()
    rtcstate.watch(quiet)
    await quiet.close()


async def test_close_on_remote_hangup_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="close_on_remote_hangup must be a bool"):
        rtcstate.PeerConnection(close_on_remote_hangup="yes")  # type: ignore[arg-type]


async def test_closing_in_the_failed_handler_tears_down_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The application closes as soon as it reads "failed". rtcstate has already
    # stopped sending (consent expired) and is closing aioice's connection, while
    # aiortc's close() stops SCTP (whose ABORT goes nowhere), DTLS and ICE: no
    # error, nothing left running.
    async with FaultyLink(seed=5) as link:
        a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        b = RTCPeerConnection(config())
        closing: list[asyncio.Future[None]] = []
        a.on(
            "connectionstatechange",
            lambda: (
                a.connectionState == "failed"
                and closing.append(asyncio.ensure_future(a.close()))
            ),
        )
        try:
            a.createDataChannel("x")
            await connect(a, b, link=link, timeout=TIMEOUT)
            link.cut()
            for _ in range(200):
                if closing:
                    break
                await asyncio.sleep(0.05)
            assert closing, a.connectionState
            await asyncio.gather(*closing)
            assert a.connectionState == "closed"
            assert a.sctp.state == "closed"
            assert a.sctp.transport.transport.state == "closed"
            assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        finally:
            await asyncio.gather(a.close(), b.close())


async def test_sctp_data_after_a_hang_up_is_dropped_quietly(
    pcs: Callable[..., rtcstate.PeerConnection],
) -> None:
    """rtcstate keeps a hung-up connection open, so aiortc's SCTP keeps
    retransmitting what waits (its T3 timer) over a DTLS transport that is
    closed: each try is dropped, not raised in a task nobody awaits."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    a, b = pcs(), pcs()
    try:
        await _connected(a, b)
        hangups = _hangups(a)
        await b.close()
        await asyncio.wait_for(hangups.get(), TIMEOUT)
        assert a.sctp is not None and a.sctp.transport.state == "closed"
        a.sctp._t3_expired()  # what the timer does: a retransmission task
        await a.sctp._send_chunk(HeartbeatChunk())  # and a chunk, directly
        await asyncio.sleep(0.1)  # the tasks run
        assert errors == []
    finally:
        loop.set_exception_handler(previous)
