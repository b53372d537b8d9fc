"""Liveness on real peers over loopback, through FaultyLink, with short timers,
against aiortc and libwebrtc remotes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import webrtc
from aiortc import RTCPeerConnection, RTCSessionDescription

import rtcstate
from conftest import Recorder, config, wrtc_gathered_sdp
from rtcstate.testing import FAST_LIVENESS, FaultyLink

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("wrtc_loopback")]

FAST = FAST_LIVENESS
TIMEOUT = 10


class Pair:
    def __init__(self, local: rtcstate.PeerConnection, link: FaultyLink) -> None:
        self.local = local
        self.link = link
        self.recorder = Recorder(local)

    def sequence(self) -> list[str]:
        return self.recorder.values("connectionstatechange")


@pytest_asyncio.fixture(params=["aiortc", "libwebrtc"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """An rtcstate offerer connected through a FaultyLink to a remote of each kind."""
    link = await FaultyLink(seed=7).start()
    local = rtcstate.PeerConnection(config(), liveness=FAST)
    channel = local.createDataChannel("x")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await local.setLocalDescription(await local.createOffer())
    offer = link.offer_to_answerer(local.localDescription)
    remote_close = None
    try:
        if request.param == "aiortc":
            remote = RTCPeerConnection(config())
            remote_close = remote.close
            await remote.setRemoteDescription(offer)
            await remote.setLocalDescription(await remote.createAnswer())
            answer = remote.localDescription
        else:
            wremote = webrtc.RTCPeerConnection(webrtc.RTCConfiguration(ice_servers=[]))

            async def close_wrtc() -> None:
                wremote.close()

            remote_close = close_wrtc
            await wremote.set_remote_description(
                webrtc.RTCSessionDescriptionInit("offer", offer.sdp)
            )
            await wremote.set_local_description(await wremote.create_answer())
            answer = RTCSessionDescription(
                await wrtc_gathered_sdp(wremote, TIMEOUT), "answer"
            )
        await local.setRemoteDescription(link.answer_to_offerer(answer))
        result = Pair(local, link)
        result.remote_close = remote_close  # type: ignore[attr-defined]
        await local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await asyncio.wait_for(opened.wait(), TIMEOUT)  # SCTP is up on both sides
        yield result
    finally:
        await local.close()
        if remote_close is not None:
            await remote_close()
        link.close()


async def test_cut_gives_disconnected_and_restore_gives_connected(pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    pair.link.cut()
    await pair.local.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    assert loop.time() - start <= FAST.disconnected_timeout + 0.3
    change = pair.local.state_history[-1]
    assert change.cause.kind == "ice" and change.cause.state == "disconnected"
    assert change.cause.detail.startswith("no answer for")
    restored = loop.time()
    pair.link.restore()
    await pair.local.wait_for_connection_state("connected", timeout=TIMEOUT)
    assert loop.time() - restored <= 0.5
    assert pair.local.state_history[-1].cause.detail.startswith("answers again")
    assert pair.sequence() == ["connecting", "connected", "disconnected", "connected"]


async def test_long_cut_gives_failed_which_stays(pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    pair.link.cut()
    start = loop.time()
    await pair.local.wait_for_connection_state("failed", timeout=TIMEOUT)
    assert loop.time() - start == pytest.approx(FAST.failed_timeout, abs=0.5)
    assert "consent expired" in pair.local.state_history[-1].cause.detail
    pair.link.restore()
    await asyncio.sleep(FAST.disconnected_timeout)
    assert pair.local.connectionState == "failed"
    assert pair.sequence() == ["connecting", "connected", "disconnected", "failed"]
    # RFC 7675: nothing more is sent to the remote once consent expired
    forwarded = pair.link.to_answerer.forwarded
    await asyncio.sleep(0.3)
    assert pair.link.to_answerer.forwarded == forwarded


@pytest.mark.parametrize("which", ["to_answerer", "to_offerer"])
async def test_cut_in_one_direction_gives_disconnected(pair: Pair, which: str) -> None:
    pair.link.cut(which)  # type: ignore[arg-type]
    await pair.local.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    pair.link.restore(which)  # type: ignore[arg-type]
    await pair.local.wait_for_connection_state("connected", timeout=TIMEOUT)


async def test_idle_peer_never_looks_disconnected(pair: Pair) -> None:
    # no data, no media: only keepalives, which the remote answers
    await asyncio.sleep(FAST.failed_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]
    assert pair.link.to_offerer.forwarded > 0


async def test_thirty_percent_loss_gives_no_false_disconnect(pair: Pair) -> None:
    pair.link.set_loss(0.3)
    await asyncio.sleep(FAST.failed_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]
    assert pair.link.to_answerer.dropped > 0 and pair.link.to_offerer.dropped > 0


async def test_remote_close_gives_disconnected_then_failed_never_closed(
    pair: Pair,
) -> None:
    await pair.remote_close()  # type: ignore[attr-defined]
    await pair.local.wait_for_connection_state("failed", timeout=TIMEOUT)
    assert pair.sequence() == ["connecting", "connected", "disconnected", "failed"]
    disconnected = next(
        c for c in pair.local.state_history if c.current == "disconnected"
    )
    assert disconnected.cause.detail.endswith("after the remote closed DTLS"), (
        pair.local.transport_states(),
        disconnected,
    )


async def test_a_blocked_event_loop_is_not_a_false_disconnect(pair: Pair) -> None:
    await asyncio.sleep(0.3)
    time.sleep(3)  # noqa: ASYNC251 (the application blocks the loop on purpose)
    await asyncio.sleep(FAST.disconnected_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]


class _FakePair:
    """Stands in for the selected pair: records keepalives, answers on demand."""

    def __init__(self, fails: bool = False) -> None:
        self.sent = 0
        self.fails = fails
        self.watching = False
        self.on_answer: object = None

    def watch(self, on_packet: object, on_answer: object, on_error: object) -> None:
        self.on_answer = on_answer
        self.watching = True

    def unwatch(self) -> None:
        self.watching = False

    def send_keepalive(self) -> bool:
        self.sent += 1
        if self.fails:
            raise AttributeError("no is_closing")
        return True


async def test_an_answer_moves_the_armed_timer_to_the_next_grid_point() -> None:
    # Without this, every connection would wake the loop once more per keepalive
    # (at the probe deadline, off the grid) only to find nothing due.
    from rtcstate.driver import LivenessDriver
    from rtcstate.liveness import LivenessConfig, LivenessMonitor

    cfg = LivenessConfig(
        keepalive_interval=0.1,
        probe_after=0.15,
        probe_interval=0.01,
        disconnected_probe_interval=0.05,
        disconnected_timeout=0.5,
        failed_timeout=5,
        keepalive_grid=0.01,
    )
    fake = _FakePair()
    now = asyncio.get_running_loop().time()
    driver = LivenessDriver(
        LivenessMonitor(cfg, now),
        fake,  # type: ignore[arg-type]
        lambda *args: None,
        _unexpected,
    )
    try:
        for _ in range(100):
            if fake.sent:
                break
            await asyncio.sleep(0.01)
        assert fake.sent == 1
        sent_at = asyncio.get_running_loop().time()
        handle = driver._handle
        assert handle is not None and handle.when() < sent_at + 0.15 + 0.01
        fake.on_answer()  # type: ignore[operator]
        assert driver._handle is not None
        assert driver._handle.when() == driver._monitor.get_timer()
        assert driver._handle.when() > handle.when()  # later: the healthy pace
        assert handle.cancelled()
    finally:
        driver.stop()


def _unexpected(exc: Exception) -> None:
    raise AssertionError("the driver faulted") from exc


async def test_an_error_inside_the_driver_stops_it_and_is_reported_once() -> None:
    # A keepalive that cannot be sent (here: raises) must not escape into the
    # loop's timer callback, nor leave a tap or a timer behind.
    from rtcstate.driver import LivenessDriver
    from rtcstate.liveness import LivenessMonitor
    from rtcstate.testing import FAST_LIVENESS

    fake = _FakePair(fails=True)
    faults: list[Exception] = []
    verdicts: list[object] = []
    driver = LivenessDriver(
        LivenessMonitor(FAST_LIVENESS, asyncio.get_running_loop().time()),
        fake,  # type: ignore[arg-type]
        lambda *args: verdicts.append(args),
        faults.append,
    )
    try:
        for _ in range(100):
            if faults:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(FAST_LIVENESS.keepalive_interval * 2)
        assert [type(f) for f in faults] == [AttributeError]
        assert fake.sent == 1  # stopped at the first failure
        assert not fake.watching
        assert driver._handle is None
        assert verdicts == []
    finally:
        driver.stop()
