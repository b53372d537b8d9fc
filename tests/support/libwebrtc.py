"""libwebrtc (Chrome's engine, PyPI ``wrtc``, imported as ``webrtc``) as a peer
in tests. The ``wrtc_loopback`` fixture (tests/conftest.py) lets it gather
loopback candidates."""

from __future__ import annotations

import asyncio
from typing import Any

TIMEOUT = 10


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
