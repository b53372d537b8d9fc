from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import rtcstate
from rtcstate.testing import FAST_LIVENESS
from turn import turn_server  # noqa: F401 (the coturn fixture, for every module)

#: No STUN/TURN server: peers only gather this machine's own addresses.
LOCAL_ONLY = RTCConfiguration(iceServers=[])


def config(**kwargs: object) -> RTCConfiguration:
    return RTCConfiguration(iceServers=[], **kwargs)  # type: ignore[arg-type]


async def negotiate(
    offerer: RTCPeerConnection,
    answerer: RTCPeerConnection,
    *,
    mangle: Callable[[str], str] | None = None,
) -> None:
    """Offer/answer with full (non-trickle) SDP; `mangle` rewrites both SDPs."""
    mangle = mangle or (lambda sdp: sdp)
    await offerer.setLocalDescription(await offerer.createOffer())
    offer = offerer.localDescription
    await answerer.setRemoteDescription(
        RTCSessionDescription(mangle(offer.sdp), offer.type)
    )
    await answerer.setLocalDescription(await answerer.createAnswer())
    answer = answerer.localDescription
    await offerer.setRemoteDescription(
        RTCSessionDescription(mangle(answer.sdp), answer.type)
    )


def strip_candidates(sdp: str) -> str:
    """Remove every candidate and end-of-candidates line (as if none were trickled)."""
    keep = [
        line
        for line in sdp.splitlines()
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    return "\r\n".join(keep) + "\r\n"


def tamper_fingerprints(sdp: str) -> str:
    """Change the first byte of every a=fingerprint (every algorithm offered)."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=fingerprint:"):
            head, value = line.split(" ", 1)
            line = f"{head} {'11' if value[:2] == '00' else '00'}{value[2:]}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


class Recorder:
    """Records (event, value) of the two state events, as a web-platform test does."""

    def __init__(self, emitter: object) -> None:
        self.events: list[tuple[str, str]] = []
        self.changes: list[rtcstate.StateChange] = []
        for name in ("iceconnectionstatechange", "connectionstatechange"):
            emitter.on(name, self._make(name))  # type: ignore[attr-defined]

    def _make(self, name: str) -> Callable[[rtcstate.StateChange], None]:
        def handler(change: rtcstate.StateChange) -> None:
            self.events.append((name, str(change.current)))
            self.changes.append(change)

        return handler

    def values(self, name: str) -> list[str]:
        return [value for event, value in self.events if event == name]


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


# --- libwebrtc (PyPI wrtc) as a remote peer ---------------------------------------


@pytest.fixture(scope="module")
def wrtc_loopback() -> None:
    """Let libwebrtc gather loopback candidates (before its first connection)."""
    import webrtc

    with contextlib.suppress(webrtc.InvalidStateError):  # an earlier module did it
        webrtc.allow_loopback()


async def wrtc_gathered_sdp(pc: object, timeout: float = 10) -> str:
    """A libwebrtc peer's local SDP once gathering is complete (no trickle)."""
    done = asyncio.Event()
    pc.on(  # type: ignore[attr-defined]
        "icegatheringstatechange",
        lambda _e: pc.ice_gathering_state == "complete" and done.set(),  # type: ignore[attr-defined]
    )
    if pc.ice_gathering_state != "complete":  # type: ignore[attr-defined]
        await asyncio.wait_for(done.wait(), timeout)
    return str(pc.local_description.sdp)  # type: ignore[attr-defined]


# --- chromium (tests/test_browser.py, tests/mdns_browser.py) -----------------------

#: Short timers for a browser remote: failed 3 s after the page goes.
BROWSER_LIVENESS = replace(FAST_LIVENESS, disconnected_timeout=1.0, failed_timeout=3.0)

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
