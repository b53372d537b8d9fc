"""close() at every point of a connection's life: it never raises, nothing fires
after it, and once the loop drains no task is left behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, connect, negotiate
from tests.support.peers import config, tasks_left
from tests.support.sdp import strip_candidates

pytestmark = pytest.mark.asyncio

FAST = replace(FAST_LIVENESS, failed_timeout=1.2)


class Watch:
    """Records every event the connection fires after close() was called."""

    def __init__(self, pc: rtcstate.PeerConnection) -> None:
        self.pc = pc
        self.after_close: list[str] = []
        for event in (
            "connectionstatechange",
            "iceconnectionstatechange",
            "signalingstatechange",
            "icegatheringstatechange",
        ):
            pc.on(event, self._make(event))

    def _make(self, event: str) -> Callable[[], None]:
        def handler() -> None:
            if self.pc.connectionState == "closed":
                self.after_close.append(event)

        return handler


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[
    tuple[rtcstate.PeerConnection, rtcstate.PeerConnection]
]:
    a = rtcstate.PeerConnection(config(), liveness=FAST)
    b = rtcstate.PeerConnection(config(), liveness=FAST)
    a.createDataChannel("x")
    yield a, b
    await asyncio.gather(a.close(), b.close())
    left = await tasks_left()
    assert left == [], [t.get_coro() for t in left]


async def close_and_check(
    a: rtcstate.PeerConnection, b: rtcstate.PeerConnection
) -> None:
    watch = Watch(a)
    closing = a.close()
    assert (a.connectionState, a.iceConnectionState) == ("closed", "closed")
    await closing
    await b.close()
    await asyncio.sleep(0.05)
    assert watch.after_close == []
    assert a.state_history[-1].cause.kind == "close"


async def test_close_before_the_offer(pair) -> None:
    await close_and_check(*pair)


async def test_close_after_create_offer(pair) -> None:
    a, b = pair
    await a.createOffer()
    await close_and_check(a, b)


async def test_close_during_gathering(pair) -> None:
    a, b = pair
    setting = asyncio.ensure_future(a.setLocalDescription(await a.createOffer()))
    await asyncio.sleep(0)
    await close_and_check(a, b)
    with contextlib.suppress(InvalidStateError):  # the call itself may be refused
        await setting


@pytest.mark.parametrize("delay_ms", [0, 2, 5, 10, 15])
async def test_close_during_ice_checking(pair, delay_ms: int) -> None:
    # plain aiortc 1.16 / aioice 0.13 leave aioice's consent task running here
    a, b = pair
    await negotiate(a, b)
    await asyncio.sleep(delay_ms / 1000)
    await close_and_check(a, b)


async def test_close_while_never_leaving_checking(pair) -> None:
    a, b = pair
    await negotiate(a, b, mangle=strip_candidates)
    await asyncio.sleep(0.2)
    await close_and_check(a, b)


async def test_close_during_the_dtls_handshake(pair) -> None:
    a, b = pair
    ice_up = asyncio.Event()
    a.on(
        "iceconnectionstatechange", lambda c: c.current == "connected" and ice_up.set()
    )
    await negotiate(a, b)
    await asyncio.wait_for(ice_up.wait(), 10)
    assert a.sctp.transport.state in ("new", "connecting")
    await close_and_check(a, b)


async def test_close_while_connected(pair) -> None:
    a, b = pair
    await connect(a, b)
    await close_and_check(a, b)


@pytest.mark.parametrize("target", ["disconnected", "failed"])
async def test_close_while_disconnected_or_failed(pair, target: str) -> None:
    a, b = pair
    async with FaultyLink() as link:
        await connect(a, b, link=link)
        link.cut()
        await a.wait_for_connection_state(target, timeout=10)
        await close_and_check(a, b)


async def test_close_twice_concurrently(pair) -> None:
    a, b = pair
    await connect(a, b)
    await asyncio.gather(a.close(), a.close(), b.close())
    assert a.connectionState == "closed"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_close_from_inside_a_state_handler(pair, kind: str) -> None:
    a, b = pair
    closed = asyncio.Event()
    pending: list[Awaitable[None]] = []
    after: list[str] = []

    if kind == "sync":

        def handler(change: rtcstate.StateChange) -> None:
            if change.current == "connected":
                pending.append(a.close())  # closed at the call
                closed.set()

    else:

        async def handler(change: rtcstate.StateChange) -> None:  # type: ignore[misc]
            if change.current == "connected":
                await a.close()
                closed.set()

    a.on("connectionstatechange", handler)
    a.on(
        "iceconnectionstatechange",
        lambda c: a.connectionState == "closed" and after.append(c),
    )
    await negotiate(a, b)
    await asyncio.wait_for(closed.wait(), 10)
    for closing in pending:
        await closing
    await asyncio.sleep(0.1)
    assert a.connectionState == "closed"
    assert after == []


async def test_plain_aiortc_watched_is_also_left_clean() -> None:
    a, b = RTCPeerConnection(config()), RTCPeerConnection(config())
    rtcstate.watch(a, liveness=FAST)
    rtcstate.watch(b, liveness=FAST)
    a.createDataChannel("x")
    await negotiate(a, b)
    await asyncio.sleep(0.005)
    await asyncio.gather(a.close(), b.close())
    assert await tasks_left() == []


async def test_bad_offer_in_the_wrong_state_leaves_states_alone(pair) -> None:
    a, b = pair
    offer = await a.createOffer()
    with pytest.raises(InvalidStateError):
        await b.setRemoteDescription(RTCSessionDescription(offer.sdp, "answer"))
    assert (b.connectionState, b.iceConnectionState) == ("new", "new")
    assert b.state_history == []
