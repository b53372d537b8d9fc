"""What the benchmarks share: offer/answer between two peers in one process."""

from __future__ import annotations

from typing import Any

from rtcstate.testing import FaultyLink


async def negotiate(a: Any, b: Any, link: FaultyLink | None = None) -> None:
    """``a`` offers, ``b`` answers (either kind of peer), through ``link`` if
    given: its relay is written into both descriptions."""
    await a.setLocalDescription(await a.createOffer())
    offer = link.offer_to_answerer(a.localDescription) if link else a.localDescription
    await b.setRemoteDescription(offer)
    await b.setLocalDescription(await b.createAnswer())
    answer = link.answer_to_offerer(b.localDescription) if link else b.localDescription
    await a.setRemoteDescription(answer)
