"""libwebrtc (Chrome's engine, PyPI ``wrtc``, imported as ``webrtc``) as a peer
in tests. The ``wrtc_loopback`` fixture (tests/conftest.py) lets it gather
loopback candidates."""

from __future__ import annotations

import asyncio
from typing import Any

import webrtc
from aiortc import RTCSessionDescription

TIMEOUT = 10


def libwebrtc_peer(configuration: Any = None) -> Any:
    """A libwebrtc peer connection; by default with no STUN/TURN server."""
    return webrtc.RTCPeerConnection(
        configuration or webrtc.RTCConfiguration(ice_servers=[])
    )


def connection_state(pc: Any) -> str:
    """The ``connectionState`` of a libwebrtc or an aiortc (or rtcstate) peer."""
    if isinstance(pc, webrtc.RTCPeerConnection):
        return str(pc.connection_state.value)
    return str(pc.connectionState)


async def close(pc: Any) -> None:
    """Close a libwebrtc or an aiortc (or rtcstate) peer."""
    if isinstance(pc, webrtc.RTCPeerConnection):
        pc.close()
    else:
        await pc.close()


async def wrtc_gathered_sdp(pc: Any, timeout: float = TIMEOUT) -> str:
    """A libwebrtc peer's local SDP once gathering is complete (no trickle)."""
    done = asyncio.Event()
    pc.on(
        "icegatheringstatechange",
        lambda _e: pc.ice_gathering_state == "complete" and done.set(),
    )
    if pc.ice_gathering_state != "complete":
        await asyncio.wait_for(done.wait(), timeout)
    return str(pc.local_description.sdp)


class Libwebrtc:
    """A libwebrtc peer behind aiortc's offer/answer methods, so that
    :func:`rtcstate.testing.negotiate` can offer or answer with it: its local
    description is read once its gathering is complete."""

    def __init__(self, pc: Any, gather_timeout: float = TIMEOUT) -> None:
        self.pc = pc
        self.gather_timeout = gather_timeout
        self._type = ""
        self._local: RTCSessionDescription | None = None

    async def createOffer(self) -> Any:
        self._type = "offer"
        return await self.pc.create_offer()

    async def createAnswer(self) -> Any:
        self._type = "answer"
        return await self.pc.create_answer()

    async def setLocalDescription(self, description: Any) -> None:
        await self.pc.set_local_description(description)
        sdp = await wrtc_gathered_sdp(self.pc, self.gather_timeout)
        self._local = RTCSessionDescription(sdp, self._type)

    @property
    def localDescription(self) -> RTCSessionDescription:
        assert self._local is not None, "no local description yet"
        return self._local

    async def setRemoteDescription(self, description: RTCSessionDescription) -> None:
        await self.pc.set_remote_description(
            webrtc.RTCSessionDescriptionInit(description.type, description.sdp)
        )

    async def close(self) -> None:
        self.pc.close()
