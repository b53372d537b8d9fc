"""libwebrtc (Chrome's engine, PyPI ``wrtc``, imported as ``webrtc``) as a peer
in tests. The ``wrtc_loopback`` fixture (tests/conftest.py) lets it gather
loopback candidates."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import webrtc
from aiortc import RTCSessionDescription

TIMEOUT = 10
UDP_IPV4_CANDIDATE = re.compile(r"^a=candidate:\S+ 1 udp \d+ \d+\.", re.M | re.I)


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
    """A libwebrtc peer's local SDP once the gathering of its current description is
    complete (no trickle): a UDP IPv4 candidate and `a=end-of-candidates` are in it.
    Right after an ICE restart's `set_local_description`, libwebrtc still reads
    "complete" and `a=end-of-candidates` from the previous gathering, with no
    candidate of the new credentials yet."""

    def gathered() -> bool:
        sdp = str(pc.local_description.sdp)
        return bool(
            pc.ice_gathering_state == "complete"
            and UDP_IPV4_CANDIDATE.search(sdp)
            and "a=end-of-candidates" in sdp
        )

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not gathered():  # bounded: `timeout`
        if loop.time() > deadline:
            raise TimeoutError(f"libwebrtc's gathering took over {timeout} s")
        await asyncio.sleep(0.01)
    return str(pc.local_description.sdp)


def udp_ipv4_only(sdp: str) -> str:
    """Keep libwebrtc's UDP IPv4 host candidates (it also offers TCP and IPv6)."""
    keep = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if fields[2].lower() != "udp" or ":" in fields[4]:
                continue
        keep.append(line)
    return "\r\n".join(keep) + "\r\n"


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
