"""Trickle ICE between a trickling rtcstate peer and headless chromium (Playwright):
the page's candidates go to Python's `addIceCandidate()`, Python's
`"icecandidate"` events go to the page's, with a silent STUN server and a TURN
server (coturn) listed on the Python side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCSessionDescription,
)

import rtcstate
from tests.support.browser import (
    CHROMIUM,
    candidate_from_page,
    candidate_to_page,
    loopback_chromium,
)
from tests.support.turn import Silent, TurnServer

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed"
)

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium here (Debian package: chromium)"
    ),
]

# the page's peer: its candidates and gathering's end go to Python through
# window.toPython (exposed below)
PAGE = """() => {
window.pc = new RTCPeerConnection({iceServers: []});
window.pc.onicecandidate = (e) => window.toPython(
  e.candidate && {candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
                  sdpMLineIndex: e.candidate.sdpMLineIndex});
window.pc.ondatachannel = (e) => { window.channel = e.channel; };
}"""


@pytest_asyncio.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    async with loopback_chromium(tmp_path / "profile") as context:
        page = await context.new_page()
        yield page


@pytest.mark.timeout(60)
async def test_chromium_and_a_trickling_python_peer_connect_at_once(
    page: Any, turn_server: TurnServer, silent: Silent
) -> None:
    config = RTCConfiguration(
        iceServers=[
            RTCIceServer(f"stun:127.0.0.1:{silent.port}"),
            *turn_server.ice_servers("udp"),
        ]
    )
    python = rtcstate.PeerConnection(config, trickle=True, gather_timeout=3)
    from_page: list[RTCIceCandidate | None] = []
    to_page: list[RTCIceCandidate | None] = []
    pending: list[asyncio.Future[Any]] = []
    remote_set = asyncio.Event()

    async def add_from_page(candidate: RTCIceCandidate | None) -> None:
        await remote_set.wait()
        await python.addIceCandidate(candidate)

    def page_candidate(init: dict[str, Any] | None) -> None:
        candidate = candidate_from_page(init)
        from_page.append(candidate)
        pending.append(asyncio.ensure_future(add_from_page(candidate)))

    @python.on("icecandidate")
    def python_candidate(candidate: RTCIceCandidate | None) -> None:
        to_page.append(candidate)
        pending.append(
            asyncio.ensure_future(
                page.evaluate(
                    "(c) => pc.addIceCandidate(c)", candidate_to_page(candidate)
                )
            )
        )

    await page.expose_function("toPython", page_candidate)
    await page.evaluate(PAGE)
    python.createDataChannel("chat")
    try:
        await python.setLocalDescription(await python.createOffer())
        assert python.iceGatheringState == "gathering"
        answer = await page.evaluate(
            """async (offer) => {
                await pc.setRemoteDescription(offer);
                await pc.setLocalDescription(await pc.createAnswer());
                return {type: pc.localDescription.type, sdp: pc.localDescription.sdp};
            }""",
            {"type": "offer", "sdp": python.localDescription.sdp},
        )
        await python.setRemoteDescription(RTCSessionDescription(**answer))
        remote_set.set()
        await python.wait_for_connection_state("connected", timeout=5)
        # connected long before the silent server's 3 s were up
        assert python.iceGatheringState == "gathering"
        await page.wait_for_function(
            "pc.connectionState === 'connected'", timeout=5_000
        )
        # the relayed candidate, then the end, reach the page
        for _ in range(500):
            if to_page and to_page[-1] is None:
                break
            await asyncio.sleep(0.01)
        await asyncio.gather(*pending)
        assert [c is None or c.type for c in to_page] == ["relay", True]
        remote_types = await page.evaluate(
            """async () => {
                const types = [];
                (await pc.getStats()).forEach((s) => {
                    if (s.type === 'remote-candidate') types.push(s.candidateType);
                });
                return types;
            }"""
        )
        assert "relay" in remote_types, remote_types
        assert any(c is not None for c in from_page), "the page trickled"
    finally:
        await python.close()
        await page.evaluate("pc.close()")
