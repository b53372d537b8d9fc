"""An ICE-lite remote (a=ice-lite) that answers only binding requests carrying
USE-CANDIDATE, as some ICE-lite media servers do.

rtcstate, controlling, puts USE-CANDIDATE on its keepalives to such a remote (as
libwebrtc does), so they are answered and the connection stays up. A plain aiortc
peer beside it, under the same filter, is the control: its consent checks carry
no USE-CANDIDATE, so they go unanswered and aiortc closes the connection.
"""

from __future__ import annotations

import asyncio

import aioice.stun
import pytest
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate import _shims
from rtcstate.testing import FaultyLink, negotiate
from tests.support.peers import config

pytestmark = pytest.mark.asyncio

#: how long the rtcstate side must stay connected (the issue's figure)
HOLD = 60.0


def with_ice_lite(sdp: str) -> str:
    """The answer as an ICE-lite server would write it (a session-level line)."""
    lines = sdp.splitlines()
    first_media = next(i for i, line in enumerate(lines) if line.startswith("m="))
    lines.insert(first_media, "a=ice-lite")
    return "\r\n".join(lines) + "\r\n"


def is_request(data: bytes) -> bool:
    return data[:2] == b"\x00\x01"


def is_request_without_use_candidate(data: bytes) -> bool:
    if not is_request(data):
        return False
    try:
        message = aioice.stun.parse_message(data)
    except ValueError:
        return True
    return "USE-CANDIDATE" not in message.attributes


async def lite_session(
    offerer: RTCPeerConnection, answerer: RTCPeerConnection, link: FaultyLink
) -> None:
    """Connect ``offerer`` to a plain aiortc ``answerer`` that announces ICE-lite,
    then make the link behave like a strict ICE-lite server: it sends no checks
    and answers only nominations."""
    offerer.createDataChannel("x")
    await negotiate(offerer, answerer, link=link, mangle_answer=with_ice_lite)
    transport = offerer.sctp.transport
    for _ in range(500):
        if transport.state == "connected":
            break
        await asyncio.sleep(0.02)
    assert transport.state == "connected"
    assert transport.transport._connection.remote_is_lite
    # an ICE-lite server sends no checks, consent checks included
    _shims.take_over_consent(answerer.sctp.transport.transport)
    link.set_filter(is_request_without_use_candidate, "to_answerer")
    link.set_filter(is_request, "to_offerer")


@pytest.mark.timeout(HOLD + 30)
async def test_keepalives_to_an_ice_lite_remote_nominate_and_keep_it_connected() -> (
    None
):
    loop = asyncio.get_running_loop()
    async with FaultyLink() as link, FaultyLink() as control_link:
        ours = rtcstate.PeerConnection(config())
        plain = RTCPeerConnection(config())
        servers = [RTCPeerConnection(config()), RTCPeerConnection(config())]
        plain_closed: list[float] = []

        @plain.on("connectionstatechange")
        def on_plain_change() -> None:
            if plain.connectionState in ("closed", "failed") and not plain_closed:
                plain_closed.append(loop.time())

        try:
            await asyncio.gather(
                lite_session(ours, servers[0], link),
                lite_session(plain, servers[1], control_link),
            )
            assert ours.connectionState == "connected"
            start = loop.time()
            requests_before = link.to_answerer.stun_requests
            await asyncio.sleep(HOLD)
            assert ours.connectionState == "connected"
            assert [c for c in ours.state_history if c.time > start] == []
            # every keepalive went through: each carried USE-CANDIDATE
            keepalives = link.to_answerer.stun_requests - requests_before
            assert keepalives >= HOLD * 0.8
            assert link.to_answerer.dropped == 0
            # the control: aiortc's consent checks went unanswered
            assert plain_closed, "plain aiortc kept consent: the filter did not bite"
            assert control_link.to_answerer.dropped > 0
            print(
                f"\nplain aiortc: closed {plain_closed[0] - start:.1f} s after the "
                "filter"
            )
        finally:
            for pc in (ours, plain, *servers):
                await pc.close()
