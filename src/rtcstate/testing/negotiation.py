"""Offer/answer between two peers in one process, and waiting for `connected`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from aiortc import RTCPeerConnection, RTCSessionDescription

from .._peerconnection import PeerConnection
from .._watcher import ConnectionWatcher
from .link import FaultyLink

# --- negotiation ------------------------------------------------------------------


class Negotiator(Protocol):
    """What [`negotiate`][rtcstate.testing.negotiate] calls on a peer: aiortc's
    offer/answer methods.

    An aiortc `RTCPeerConnection` (so a [`PeerConnection`][rtcstate.PeerConnection]) is
    one; wrap another implementation in an object with these to negotiate with
    it. `localDescription` must hold the complete description (gathering
    done) once `setLocalDescription` returns, as aiortc's does.
    """

    @property
    def localDescription(self) -> RTCSessionDescription: ...

    async def createOffer(self) -> RTCSessionDescription: ...

    async def createAnswer(self) -> RTCSessionDescription: ...

    async def setLocalDescription(
        self, description: RTCSessionDescription, /
    ) -> None: ...

    async def setRemoteDescription(
        self, description: RTCSessionDescription, /
    ) -> None: ...


_NEGOTIATOR_METHODS = (
    "createOffer",
    "createAnswer",
    "setLocalDescription",
    "setRemoteDescription",
)


def _negotiator(peer: object, role: str) -> Negotiator:
    """The object to negotiate with: a watcher's connection, else `peer`."""
    if isinstance(peer, ConnectionWatcher):
        return peer.pc
    if not all(callable(getattr(peer, name, None)) for name in _NEGOTIATOR_METHODS):
        raise TypeError(
            f"the {role} must be an aiortc RTCPeerConnection, an rtcstate "
            f"watcher or have aiortc's offer/answer methods, not "
            f"{type(peer).__name__}"
        )
    return peer  # type: ignore[return-value]


def _rewrite(
    description: RTCSessionDescription, mangle: Callable[[str], str] | None
) -> RTCSessionDescription:
    if mangle is None:
        return description
    return RTCSessionDescription(mangle(description.sdp), description.type)


async def negotiate(
    offerer: Negotiator | ConnectionWatcher,
    answerer: Negotiator | ConnectionWatcher,
    *,
    link: FaultyLink | None = None,
    mangle: Callable[[str], str] | None = None,
    mangle_offer: Callable[[str], str] | None = None,
    mangle_answer: Callable[[str], str] | None = None,
) -> None:
    """Offer/answer between two peers in one process, with complete descriptions.

    `offerer` offers what it has (create its data channels and transceivers
    first) and `answerer` answers. Each description is handed over once its
    side has gathered its candidates (no trickle). A watcher from
    [`watch`][rtcstate.watch] stands for its connection.

    :param link: a started [`FaultyLink`][rtcstate.testing.FaultyLink]: both
        descriptions are rewritten so that the peers talk through it.
    :param mangle: rewrites the SDP of both descriptions on their way (after
        `link`), for example to remove the candidates.
    :param mangle_offer: rewrites the offer's SDP only.
    :param mangle_answer: rewrites the answer's SDP only.
    :raises TypeError: for a peer that cannot negotiate, or `mangle` given
        with `mangle_offer` or `mangle_answer`.
    """
    if mangle is not None:
        if mangle_offer is not None or mangle_answer is not None:
            raise TypeError(
                "give mangle (both descriptions) or mangle_offer/mangle_answer, "
                "not both"
            )
        mangle_offer = mangle_answer = mangle
    local = _negotiator(offerer, "offerer")
    remote = _negotiator(answerer, "answerer")
    await local.setLocalDescription(await local.createOffer())
    offer = local.localDescription
    if link is not None:
        offer = link.offer_to_answerer(offer)
    await remote.setRemoteDescription(_rewrite(offer, mangle_offer))
    await remote.setLocalDescription(await remote.createAnswer())
    answer = remote.localDescription
    if link is not None:
        answer = link.answer_to_offerer(answer)
    await local.setRemoteDescription(_rewrite(answer, mangle_answer))


Connectable = RTCPeerConnection | ConnectionWatcher


async def connect(
    offerer: Connectable,
    answerer: Connectable,
    *,
    timeout: float = 10.0,
    link: FaultyLink | None = None,
    mangle: Callable[[str], str] | None = None,
) -> None:
    """[`negotiate`][rtcstate.testing.negotiate], then wait until both peers read
    `connected`.

    Each peer is a [`PeerConnection`][rtcstate.PeerConnection] or a watcher from
    [`watch`][rtcstate.watch] (their W3C `connectionState` is read), or a plain
    aiortc `RTCPeerConnection` (aiortc's own). The offerer must have
    something to negotiate: a data channel, a track or a transceiver.

    :param timeout: seconds both have, together, to read `connected` once
        the negotiation is done.
    :param link: as for [`negotiate`][rtcstate.testing.negotiate].
    :param mangle: as for [`negotiate`][rtcstate.testing.negotiate].
    :raises asyncio.TimeoutError: when `timeout` passes first.
    :raises UnreachableStateError: when a peer can no longer read `connected`
        (`failed` or `closed`).
    :raises TypeError: for a peer that is none of these.
    :raises ValueError: when the offer has no m-line: nothing could connect.
    """
    for peer, role in ((offerer, "offerer"), (answerer, "answerer")):
        if not isinstance(peer, Connectable):
            raise TypeError(
                "connect() waits on an aiortc RTCPeerConnection or an rtcstate "
                f"watcher, not {type(peer).__name__} (the {role}): use negotiate() "
                "and wait on it yourself"
            )
    await negotiate(offerer, answerer, link=link, mangle=mangle)
    offer = _negotiator(offerer, "offerer").localDescription
    if not any(line.startswith("m=") for line in offer.sdp.splitlines()):
        raise ValueError(
            "connect(): the offer has no m-line, so nothing can connect: create a "
            "data channel or add a track or transceiver to the offerer first"
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for peer in (offerer, answerer):
        remaining = max(0.0, deadline - loop.time())
        if isinstance(peer, (PeerConnection, ConnectionWatcher)):
            await peer.wait_for_connection_state("connected", timeout=remaining)
        else:
            await _aiortc_connected(peer, remaining)


async def _aiortc_connected(pc: RTCPeerConnection, timeout: float) -> None:
    """Wait until aiortc's own `connectionState` is `connected`."""
    from .. import UnreachableStateError  # the package's name for it

    changed = asyncio.Event()

    def on_change() -> None:
        changed.set()

    pc.on("connectionstatechange", on_change)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise UnreachableStateError(
                    f"aiortc's connectionState is {pc.connectionState!r}: "
                    "it cannot become 'connected'"
                )
            changed.clear()
            await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
    finally:
        pc.remove_listener("connectionstatechange", on_change)
