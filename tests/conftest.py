"""The suite's fixtures; the helpers they use are in tests/support."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate.testing import connect
from tests.support.peers import config
from tests.support.turn import TURNSERVER, Silent, TurnServer


@pytest_asyncio.fixture
async def pcs() -> AsyncIterator[Callable[..., rtcstate.PeerConnection]]:
    """Factory of rtcstate PeerConnections (local addresses only), closed at the end."""
    made: list[RTCPeerConnection] = []

    def make(
        cls: type = rtcstate.PeerConnection, **kwargs: object
    ) -> rtcstate.PeerConnection:
        pc = cls(config(**kwargs))
        made.append(pc)
        return pc  # type: ignore[no-any-return]

    yield make
    for pc in made:
        await pc.close()
    # let aiortc's closing tasks finish inside the test's loop
    await asyncio.sleep(0)


@pytest_asyncio.fixture
async def connected_pair(
    pcs: Callable[..., rtcstate.PeerConnection],
) -> tuple[rtcstate.PeerConnection, rtcstate.PeerConnection]:
    """Two rtcstate peers from ``pcs`` (closed with them), connected: the first
    offered a data channel, ``"x"``, and both read ``connected``."""
    a, b = pcs(), pcs()
    a.createDataChannel("x")
    await connect(a, b)
    return a, b


@pytest.fixture(scope="module")
def wrtc_loopback() -> None:
    """Let libwebrtc gather loopback candidates (before its first connection)."""
    import webrtc

    with contextlib.suppress(webrtc.InvalidStateError):  # an earlier module did it
        webrtc.allow_loopback()


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    """One coturn server for the module's tests; stopped at the end, whatever
    happened (a test that paused it included)."""
    if TURNSERVER is None:
        pytest.skip("coturn's turnserver is not installed (Debian package: coturn)")
    server = TurnServer(tmp_path_factory.mktemp("turnserver"), tls=True)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def silent() -> Iterator[Silent]:
    """A STUN or TURN server that is down: a UDP socket on 127.0.0.1 that never
    answers."""
    server = Silent()
    yield server
    server.close()
