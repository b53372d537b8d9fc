"""Headless chromium and the browser example (examples/browser/app.py), for
tests/test_browser.py and the ``mdns_browser`` script."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp, candidate_to_sdp

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink
from tests.support import ROOT

#: Short timers for a browser remote: failed 3 s after the page goes.
BROWSER_LIVENESS = replace(FAST_LIVENESS, disconnected_timeout=1.0, failed_timeout=3.0)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Headless chromium as root, with nothing of its own on the network.
CHROMIUM_ARGS = [
    "--no-sandbox",  # root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # chromium still asks for a few Google hosts: no name resolves, so it sends
    # no DNS query at all (the pages are IP literals)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def candidate_to_page(candidate: RTCIceCandidate | None) -> dict[str, Any] | None:
    """An `"icecandidate"` of rtcstate's as the page's `addIceCandidate` takes it
    (an `RTCIceCandidateInit`); `None`, the end, stays `None`."""
    if candidate is None:
        return None
    return {
        "candidate": "candidate:" + candidate_to_sdp(candidate),
        "sdpMid": candidate.sdpMid,
        "sdpMLineIndex": candidate.sdpMLineIndex,
    }


def candidate_from_page(init: dict[str, Any] | None) -> RTCIceCandidate | None:
    """The page's `onicecandidate` (its candidate's `RTCIceCandidateInit`) as
    rtcstate's `addIceCandidate` takes it; `None` for the end (chromium may
    also send an empty candidate)."""
    if init is None or not init["candidate"]:
        return None
    candidate = candidate_from_sdp(init["candidate"].split(":", 1)[1])
    candidate.sdpMid = init["sdpMid"]
    candidate.sdpMLineIndex = init["sdpMLineIndex"]
    return candidate


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve the example's aiohttp application on 127.0.0.1, on a free port; yields
    its URL."""
    from aiohttp import web

    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def loopback_chromium(profile: Path) -> AsyncIterator[Any]:
    """Headless chromium (a fresh user data dir at `profile`) that gives raw host
    addresses instead of mDNS names, for the loopback-only tests; yields its
    browser context."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns"],
        )
        try:
            yield context
        finally:
            await context.close()


@functools.cache
def example_app() -> ModuleType:
    """examples/browser/app.py (a script, not a package), imported once; it
    needs aiohttp."""
    spec = importlib.util.spec_from_file_location(
        "browser_example_app", ROOT / "examples" / "browser" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def connected_python_peer(page: Any, app: Any) -> rtcstate.PeerConnection:
    """Once the page (already loaded) reads ``connected``, the application's
    Python peer, when it reads ``connected`` too."""
    await page.wait_for_function(
        "window.pc && pc.connectionState === 'connected'", timeout=20_000
    )
    peers = app[example_app().PEERS]
    for _ in range(100):
        if peers:
            break
        await asyncio.sleep(0.05)
    python_peer: rtcstate.PeerConnection = peers[0]
    assert (
        await python_peer.wait_for_connection_state("connected", timeout=10)
        == "connected"
    )
    return python_peer


class BrowserLink(FaultyLink):
    """A [`FaultyLink`][rtcstate.testing.FaultyLink] for a chromium peer across
    ICE restarts: it sends each side's packets to the address that side's
    latest description names, and never latches onto the address a packet
    came from.

    After an ICE restart chromium keeps its previous generation's sockets for a
    while: it checks from them, and even sends data from one. Their
    credentials are the old ones, so they answer the Python side's keepalives
    with 401. FaultyLink funnels all of a peer's sockets into one relay
    address and latches onto whichever socket sent last, so the Python side's
    keepalives reach such a socket, which over a real network they never do
    (they go to the nominated pair's remote address)."""

    def _received(
        self,
        side: Literal["offerer", "answerer"],
        data: bytes,
        addr: tuple[str, int],
        sock: Any = None,
    ) -> None:
        back = self.to_offerer if side == "offerer" else self.to_answerer
        named = back._dest
        super()._received(side, data, addr, sock)
        if named is not None:
            back._dest = named
