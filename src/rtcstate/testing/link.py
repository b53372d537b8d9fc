"""`FaultyLink`: a UDP relay on 127.0.0.1 between two peers that can cut, drop or
delay each direction."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiortc import RTCSessionDescription

Which = Literal["both", "to_offerer", "to_answerer"]


@dataclass
class Direction:
    """The faults of one direction of the link, and what it did."""

    cut: bool = False
    loss: float = 0.0
    delay: float = 0.0
    forwarded: int = 0
    dropped: int = 0
    stun_requests: int = 0
    """STUN binding requests seen (forwarded or not): keepalives and checks"""
    drop: Callable[[bytes], bool] | None = None
    # The peer this direction reaches, one generation of its candidates per
    # description that changed them (an ICE restart): the candidates, and where
    # to send (a candidate, then the address it really sends from). Each
    # generation of the other peer's sockets is relayed to the same generation
    # here, so the old pair keeps working while a restart's new one checks, as on
    # a real network.
    _generations: list[_Generation] = field(default_factory=list, repr=False)

    def _generation_of(self, addr: tuple[str, int]) -> int:
        """The newest generation whose candidates include `addr` (the newest if
        none does: a peer-reflexive address)."""
        for index in range(len(self._generations) - 1, -1, -1):
            if addr in self._generations[index].known:
                return index
        return len(self._generations) - 1

    def _dest(self, generation: int) -> tuple[str, int] | None:
        """Where a packet of the other peer's `generation` goes."""
        if not self._generations:
            return None
        return self._generations[min(generation, len(self._generations) - 1)].dest


@dataclass
class _Generation:
    known: frozenset[tuple[str, int]]
    dest: tuple[str, int]


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, link: FaultyLink, side: Literal["offerer", "answerer"]) -> None:
        self.link = link
        self.side = side
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.link._received(self.side, data, (addr[0], addr[1]), self)


class FaultyLink:
    """A UDP relay on 127.0.0.1 with per-direction cut, loss and delay.

    Each description rewritten with new candidates (an ICE restart's) is a new
    generation of that peer's sockets; each generation is relayed to the same
    generation of the other peer, so the old pair keeps working while a restart's
    new one checks (or fails), as on a real network.

    :param seed: seeds the random loss, for reproducible tests.
    :param max_packets: the relay stops forwarding after this many packets.
    :param max_delayed: at most this many packets are held for delay at once;
        more are dropped.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        max_packets: int = 1_000_000,
        max_delayed: int = 10_000,
    ) -> None:
        if max_packets < 1 or max_delayed < 1:
            raise ValueError("max_packets and max_delayed must be positive")
        self._random = random.Random(seed)
        self._max_packets = max_packets
        self._max_delayed = max_delayed
        self._delayed: set[asyncio.TimerHandle] = set()
        self._total = 0
        # the socket the offerer sends to (it stands for the answerer), and back
        self._for_offerer: _Socket | None = None
        self._for_answerer: _Socket | None = None
        self._dead: list[_Socket] = []  # the addresses a move() left behind
        self.moves = 0
        """how many times [`move`][rtcstate.testing.FaultyLink.move] was called"""
        self.to_answerer = Direction()
        self.to_offerer = Direction()
        self._closed = False

    async def start(self) -> FaultyLink:
        """Open the relay's two sockets on 127.0.0.1."""
        self._for_offerer, self._for_answerer = await self._open()
        return self

    async def _open(self) -> tuple[_Socket, _Socket]:
        loop = asyncio.get_running_loop()
        _, for_offerer = await loop.create_datagram_endpoint(
            lambda: _Socket(self, "offerer"), local_addr=("127.0.0.1", 0)
        )
        _, for_answerer = await loop.create_datagram_endpoint(
            lambda: _Socket(self, "answerer"), local_addr=("127.0.0.1", 0)
        )
        return for_offerer, for_answerer

    async def move(self) -> None:
        """Move the path for good, as a change of network (or a NAT rebinding)
        does: the relay's two addresses the peers know go dead (whatever reaches
        them is dropped, silently, until [`close`][rtcstate.testing.FaultyLink.close])
        and two new ones work. Only descriptions rewritten from now on
        ([`offer_to_answerer`][rtcstate.testing.FaultyLink.offer_to_answerer],
        [`answer_to_offerer`][rtcstate.testing.FaultyLink.answer_to_offerer]) name
        them, so the peers get through again only with an ICE restart. The cuts,
        loss, delay and filters set on each direction stay."""
        if self._for_offerer is None or self._for_answerer is None or self._closed:
            raise RuntimeError("FaultyLink is not started, or closed")
        new = await self._open()
        self._dead += [self._for_offerer, self._for_answerer]
        self._for_offerer, self._for_answerer = new
        self.moves += 1

    async def __aenter__(self) -> FaultyLink:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """[`close`][rtcstate.testing.FaultyLink.close] was called, no packet is
        held, and every socket the link opened (those a
        [`move`][rtcstate.testing.FaultyLink.move] left behind included) is closed
        or closing."""
        socks = (self._for_offerer, self._for_answerer, *self._dead)
        return (
            self._closed
            and not self._delayed
            and all(
                sock.transport is None or sock.transport.is_closing()
                for sock in socks
                if sock is not None
            )
        )

    def close(self) -> None:
        """Close both sockets and drop every held packet. Idempotent."""
        self._closed = True
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        for sock in (self._for_offerer, self._for_answerer, *self._dead):
            if sock is not None and sock.transport is not None:
                sock.transport.close()

    # --- SDP ------------------------------------------------------------------

    def offer_to_answerer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """The offerer's description as the answerer must see it (via the relay)."""
        return self._rewrite(offer, self.to_offerer, self._for_answerer)

    def answer_to_offerer(self, answer: RTCSessionDescription) -> RTCSessionDescription:
        """The answerer's description as the offerer must see it (via the relay)."""
        return self._rewrite(answer, self.to_answerer, self._for_offerer)

    def _rewrite(
        self,
        description: RTCSessionDescription,
        towards: Direction,
        via: _Socket | None,
    ) -> RTCSessionDescription:
        if via is None or via.transport is None:
            raise RuntimeError("FaultyLink is not started: use 'async with' or start()")
        relay = via.transport.get_extra_info("sockname")[:2]
        sdp, known, dest = _through_relay(description.sdp, relay)
        generations = towards._generations
        if generations and not generations[-1].known:
            generations[-1] = _Generation(known, dest)  # the first description
        elif not generations or generations[-1].known != known:
            generations.append(_Generation(known, dest))  # first, or a restart
        return RTCSessionDescription(sdp=sdp, type=description.type)

    # --- faults ---------------------------------------------------------------

    def _directions(self, which: Which) -> list[Direction]:
        if which == "both":
            return [self.to_answerer, self.to_offerer]
        if which == "to_answerer":
            return [self.to_answerer]
        if which == "to_offerer":
            return [self.to_offerer]
        raise ValueError(
            f"direction must be 'both', 'to_offerer' or 'to_answerer', not {which!r}"
        )

    def cut(self, which: Which = "both") -> None:
        """Drop every packet in that direction, silently."""
        for direction in self._directions(which):
            direction.cut = True

    def restore(self, which: Which = "both") -> None:
        """Undo [`cut`][rtcstate.testing.FaultyLink.cut]."""
        for direction in self._directions(which):
            direction.cut = False

    def set_loss(self, rate: float, which: Which = "both") -> None:
        """Drop each packet with probability `rate` (0 to 1)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"loss rate must be between 0 and 1, not {rate!r}")
        for direction in self._directions(which):
            direction.loss = rate

    def set_filter(
        self, drop: Callable[[bytes], bool] | None, which: Which = "both"
    ) -> None:
        """Drop each packet for which `drop(data)` is true; `None` removes
        the filter. For example, an ICE-lite server that answers only binding
        requests carrying USE-CANDIDATE."""
        if drop is not None and not callable(drop):
            raise TypeError(f"drop must be callable or None, not {drop!r}")
        for direction in self._directions(which):
            direction.drop = drop

    def set_delay(self, seconds: float, which: Which = "both") -> None:
        """Hold each packet `seconds` before forwarding it (0 to 10)."""
        if not 0.0 <= seconds <= 10.0:
            raise ValueError(f"delay must be between 0 and 10 s, not {seconds!r}")
        for direction in self._directions(which):
            direction.delay = seconds

    # --- relaying -------------------------------------------------------------

    def _received(
        self,
        side: Literal["offerer", "answerer"],
        data: bytes,
        addr: tuple[str, int],
        sock: _Socket | None = None,
    ) -> None:
        # A packet on the offerer's socket comes from the offerer and goes to
        # the answerer through the answerer's socket (whose address the
        # answerer knows as the offerer's), and the other way round.
        if side == "offerer":
            direction, back, out = self.to_answerer, self.to_offerer, self._for_answerer
        else:
            direction, back, out = self.to_offerer, self.to_answerer, self._for_offerer
        if sock is not None and sock not in (self._for_offerer, self._for_answerer):
            direction.dropped += 1  # an address a move() left behind
            return
        if not back._generations:
            # before its description: replies go to where the peer sends from
            back._generations.append(_Generation(frozenset(), addr))
        generation = back._generation_of(addr)
        latest = back._generations[generation]
        if not latest.known or addr in latest.known:
            latest.dest = addr  # latch: replies go to where the peer sends from
        if data[:2] == b"\x00\x01":
            direction.stun_requests += 1
        dest = direction._dest(generation)
        if (
            self._closed
            or dest is None
            or out is None
            or out.transport is None
            or self._total >= self._max_packets
            or direction.cut
            or (direction.loss and self._random.random() < direction.loss)
            or (direction.drop is not None and direction.drop(data))
        ):
            direction.dropped += 1
            return
        self._total += 1
        if direction.delay <= 0:
            out.transport.sendto(data, dest)
            direction.forwarded += 1
            return
        if len(self._delayed) >= self._max_delayed:
            direction.dropped += 1
            return
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def send() -> None:
            self._delayed.discard(holder[0])
            if not self._closed and out.transport is not None:
                out.transport.sendto(data, dest)
                direction.forwarded += 1

        holder.append(loop.call_later(direction.delay, send))
        self._delayed.add(holder[0])


def _through_relay(
    sdp: str, relay: tuple[str, int]
) -> tuple[str, frozenset[tuple[str, int]], tuple[str, int]]:
    """`sdp` with each m-line's candidates replaced by one at the `relay`
    address; the peer's own UDP IPv4 addresses it listed, and the one the relay
    sends to (loopback preferred, else the first seen)."""
    relay_host, relay_port = relay
    per_mline: list[set[tuple[str, int]]] = []
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if len(fields) < 8 or fields[6] != "typ":
                raise ValueError(f"FaultyLink: cannot read candidate line {line!r}")
            if per_mline and fields[2].lower() == "udp" and ":" not in fields[4]:
                per_mline[-1].add((fields[4], int(fields[5])))
            continue  # replaced by one relay candidate per m-line below
        out.append(line)
        if line.startswith("m="):
            per_mline.append(set())
            out.append(
                f"a=candidate:relay 1 udp 2130706431 {relay_host} {relay_port} typ host"
            )
    distinct = {frozenset(c) for c in per_mline if c}
    if not distinct:
        raise ValueError("FaultyLink: the description has no UDP IPv4 candidate")
    bundled = any(line.startswith("a=group:BUNDLE") for line in out)
    if len(distinct) > 1 and not bundled:
        raise ValueError(
            "FaultyLink relays one ICE transport: bundle the session "
            "(several m-lines have candidates of their own)"
        )
    # with BUNDLE, the first m-line's transport is the one that stays
    targets = next(c for c in per_mline if c)
    dest = min(targets, key=lambda t: (not t[0].startswith("127."), t))
    known = frozenset().union(*per_mline)
    return "\r\n".join(out) + "\r\n", known, dest
