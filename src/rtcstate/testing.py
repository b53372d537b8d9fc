r"""Test helpers for applications: negotiation, a faulty UDP link between two
peers, and random faults to play on it.

[`negotiate`][rtcstate.testing.negotiate] runs the offer/answer between two peers
in one process and [`connect`][rtcstate.testing.connect] also waits until both read
`connected`:

```python
a, b = rtcstate.PeerConnection(), rtcstate.PeerConnection()
a.createDataChannel("chat")
await connect(a, b)
```

[`FaultyLink`][rtcstate.testing.FaultyLink] is a UDP relay on 127.0.0.1. Rewrite each
side's SDP with it before handing it to the other side
(`negotiate(a, b, link=link)` does), and
the peers talk through the relay, which can cut, drop or delay each direction:

```python
async with FaultyLink() as link:
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
    ...
    link.cut()          # both directions, silently
    link.restore()
    link.set_loss(0.3)  # 30 % random loss in both directions
    link.set_filter(lambda data: data[:2] == b"\x00\x01")  # no STUN requests
```

It relays one ICE transport: a session with a BUNDLE group (the first m-line's
transport is the one relayed), or a single m-line. Everything it
does is bounded (packets relayed, packets held for delay) and it closes its
sockets on [`FaultyLink.close`][rtcstate.testing.FaultyLink.close].

[`fault_schedule`][rtcstate.testing.fault_schedule] and
[`apply_faults`][rtcstate.testing.apply_faults] play random, seeded faults on a link
(rtcstate's own soak, in its tests and benchmarks, runs them on many pairs).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol

from aiortc import RTCPeerConnection, RTCSessionDescription

from .liveness import LivenessConfig
from .peerconnection import PeerConnection
from .watcher import ConnectionWatcher

__all__ = [
    "FAST_LIVENESS",
    "FAST_RECOVERY",
    "Direction",
    "Fault",
    "FaultyLink",
    "Negotiator",
    "RecoverySettings",
    "SettleBounds",
    "apply_faults",
    "connect",
    "expected_end",
    "fault_schedule",
    "negotiate",
    "settle_bounds",
]

FAST_LIVENESS = LivenessConfig(
    keepalive_interval=0.2,
    probe_after=0.3,
    probe_interval=0.02,
    disconnected_probe_interval=0.05,
    disconnected_timeout=0.6,
    failed_timeout=1.5,
)
"""Short liveness timers for tests: a cut reads `disconnected` after 0.6 s
and `failed` after 1.5 s. Vary them with `dataclasses.replace`."""


@dataclass(frozen=True)
class RecoverySettings:
    """The settings of a [`recover`][rtcstate.recover] policy, as a fault
    schedule assumes it (the defaults are `recover()`'s)."""

    grace: float = 0.5
    attempts: int = 3
    backoff: float = 1.0
    timeout: float = 10.0


FAST_RECOVERY = RecoverySettings(grace=0.3, attempts=3, backoff=0.2, timeout=2.0)
"""A short recovery policy to go with
[`FAST_LIVENESS`][rtcstate.testing.FAST_LIVENESS]: it restarts ICE 0.3 s after
`disconnected`, and gives up about 7.5 s after a path is lost for good."""

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
        relay_host, relay_port = via.transport.get_extra_info("sockname")[:2]
        per_mline: list[set[tuple[str, int]]] = []
        out = []
        for line in description.sdp.splitlines():
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
                    "a=candidate:relay 1 udp 2130706431 "
                    f"{relay_host} {relay_port} typ host"
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
        # the peer's own address: prefer loopback, else the first one seen
        dest = min(targets, key=lambda t: (not t[0].startswith("127."), t))
        known = frozenset().union(*per_mline)
        generations = towards._generations
        if generations and not generations[-1].known:
            generations[-1] = _Generation(known, dest)  # the first description
        elif not generations or generations[-1].known != known:
            generations.append(_Generation(known, dest))  # first, or a restart
        return RTCSessionDescription(
            sdp="\r\n".join(out) + "\r\n", type=description.type
        )

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
    from . import UnreachableStateError  # the package's name for it

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


# --- faults at random -------------------------------------------------------------


@dataclass
class Fault:
    """One fault of a schedule: `kind` from `at` seconds for `duration`.

    `kind` is `"cut"` (both directions), `"oneway"` (`detail` names the
    direction), `"loss"` (`detail` is the rate), `"delay"` (`detail` in
    seconds) or `"permanent"` (a cut that is never restored). Schedules drawn
    for a recovery policy also have `"move"` (the path moves for good,
    [`FaultyLink.move`][rtcstate.testing.FaultyLink.move]; `duration` is 0) and
    `"outage"` (a cut long enough to read `failed`, then restored).
    """

    at: float
    kind: str
    duration: float
    detail: Any = None

    def __str__(self) -> str:
        extra = f" {self.detail}" if self.detail is not None else ""
        return f"{self.at:6.2f}s {self.kind}{extra} for {self.duration:.2f}s"

    @property
    def ends(self) -> float:
        """When the link is whole again (or, for a permanent cut, when it began)."""
        return self.at if self.kind == "permanent" else self.at + self.duration


class SettleBounds(NamedTuple):
    """Seconds after a schedule's last fault ends (a heal, a move, or the start of
    a permanent cut) within which a pair under a recovery policy has settled (see
    [`settle_bounds`][rtcstate.testing.settle_bounds])."""

    connected: float
    """`connected` again, after a schedule that lets the policy recover"""
    closed: float
    """closed by the policy, which gave up, after a cut left in place"""


def settle_bounds(liveness: LivenessConfig, recovery: RecoverySettings) -> SettleBounds:
    """How long a pair under `recovery` takes to settle after the last fault.

    `connected`: once the link is whole, an attempt that began while it was not
    ends (consent expires after `liveness.failed_timeout`, or the attempt's
    `timeout` passes), the longest back-off passes, and the next attempt's restart
    connects within its `timeout`; a path moved at the end is noticed and restarted
    after `disconnected_timeout + grace`. Plus 0.5 s.

    `closed`: the policy's whole reach: the loss noticed, the grace period, every
    attempt timing out and every back-off, plus 1 s for the close.
    """
    backoffs = [recovery.backoff * 2.0**n for n in range(recovery.attempts - 1)]
    noticed = liveness.disconnected_timeout + recovery.grace
    one_failed = min(recovery.timeout, liveness.failed_timeout)
    return SettleBounds(
        connected=max(noticed, one_failed)
        + max(backoffs, default=0.0)
        + recovery.timeout
        + 0.5,
        closed=noticed + recovery.attempts * recovery.timeout + sum(backoffs) + 1.0,
    )


def _outage_limit(liveness: LivenessConfig, recovery: RecoverySettings) -> float:
    """The longest outage the policy surely outlasts: the earliest its last attempt
    can start (seconds after the cut), less 0.5 s for that attempt's checks.

    At the earliest, the last packet came a keepalive interval before the cut, the
    first attempt starts `disconnected_timeout + grace` after it, and consent expires
    `failed_timeout` after it. An attempt ends when its `timeout` passes or when
    consent expires (`failed`), whichever comes first; a restart begun from `failed`
    gives the new path a `failed_timeout` of its own. Back-offs come between.
    """
    if recovery.attempts < 2:
        return 0.0
    last_packet = -liveness.keepalive_interval
    expires = last_packet + liveness.failed_timeout
    start = last_packet + liveness.disconnected_timeout + recovery.grace
    for number in range(1, recovery.attempts):
        if expires <= start:  # restarted from failed
            expires = start + liveness.failed_timeout
        end = min(start + recovery.timeout, expires)
        start = end + recovery.backoff * 2.0 ** (number - 1)
    return start - 0.5


def fault_schedule(
    rng: random.Random,
    seconds: float,
    liveness: LivenessConfig,
    *,
    recovery: RecoverySettings | None = None,
) -> list[Fault]:
    """Random faults for one link over `seconds`, drawn from `rng`.

    Every temporary fault is short enough that it can never reach
    `liveness.failed_timeout`, and the link has time to recover after each;
    about one schedule in three ends with a permanent cut, early enough to
    reach `failed`. The same `rng` state gives the same schedule.

    With `recovery` (the pair runs [`recover`][rtcstate.recover] with those
    settings) the schedule also moves the path (`"move"`: only an ICE restart
    gets through again) and has outages (`"outage"`: a cut that reaches
    `failed`, restored before the policy's last attempt can start, so that this
    attempt finds the link whole). After either, the next fault waits until the
    policy is done with it. The last temporary fault ends
    [`settle_bounds`][rtcstate.testing.settle_bounds]`.connected` before the end;
    a permanent cut (about one schedule in three, after the temporary faults)
    starts `settle_bounds.closed` before the end, for the policy to give up and
    close in time. Without `recovery` the schedule is drawn exactly as before.
    """
    if recovery is None:
        return _plain_schedule(rng, seconds, liveness)
    faults: list[Fault] = []
    limit = liveness.failed_timeout
    bounds = settle_bounds(liveness, recovery)
    outage = (limit + 0.2, _outage_limit(liveness, recovery))
    kinds = ["cut", "oneway", "loss", "delay", "move"]
    if outage[0] < outage[1]:
        kinds.append("outage")
    # after a move or an outage, the policy's episode: noticed, a failed attempt,
    # back-offs, the restart
    episode = bounds.connected
    permanent = rng.random() < 0.3 and seconds > bounds.closed + 1.0
    end = seconds - (bounds.closed if permanent else bounds.connected)
    t = rng.uniform(0.2, 1.0) * liveness.disconnected_timeout
    while True:
        kind = rng.choice(kinds)
        detail: Any = None
        gap = rng.uniform(0.3, 1.5) * liveness.disconnected_timeout
        if kind == "move":
            duration = 0.0
            gap += episode
        elif kind == "outage":
            duration = rng.uniform(*outage)
            gap += episode
        else:
            duration = rng.uniform(0.1, 0.6) * (limit - liveness.keepalive_interval)
        if t + duration > end:
            break
        if kind == "oneway":
            detail = rng.choice(["to_answerer", "to_offerer"])
        elif kind == "loss":
            detail = rng.choice([0.1, 0.3])
        elif kind == "delay":
            detail = round(rng.uniform(0.02, 0.1), 3)
        faults.append(Fault(round(t, 3), kind, round(duration, 3), detail))
        t += duration + gap
    if permanent:
        faults.append(Fault(round(max(min(t, end), 0.5), 3), "permanent", seconds))
    return faults


def _plain_schedule(
    rng: random.Random, seconds: float, liveness: LivenessConfig
) -> list[Fault]:
    faults: list[Fault] = []
    limit = liveness.failed_timeout
    settle = liveness.disconnected_timeout + 1.0
    permanent = rng.random() < 0.3 and seconds > limit + settle + 2
    end = seconds - (limit + settle + 1 if permanent else settle)
    t = rng.uniform(0.2, 1.0) * liveness.disconnected_timeout
    while True:
        kind = rng.choice(["cut", "oneway", "loss", "delay"])
        duration = rng.uniform(0.1, 0.6) * (limit - liveness.keepalive_interval)
        if t + duration > end:
            break
        detail: Any = None
        if kind == "oneway":
            detail = rng.choice(["to_answerer", "to_offerer"])
        elif kind == "loss":
            detail = rng.choice([0.1, 0.3])
        elif kind == "delay":
            detail = round(rng.uniform(0.02, 0.1), 3)
        faults.append(Fault(round(t, 3), kind, round(duration, 3), detail))
        t += duration + rng.uniform(0.3, 1.5) * liveness.disconnected_timeout
    if permanent:
        faults.append(Fault(round(max(t, 0.5), 3), "permanent", seconds))
    return faults


def expected_end(faults: list[Fault], *, recovery: bool = False) -> str:
    """The state a schedule leads to: after a permanent cut `failed`, or, under a
    recovery policy, `closed` (recovery is impossible: every attempt meets the cut,
    and the policy gives up); `connected` otherwise."""
    if faults and faults[-1].kind == "permanent":
        return "closed" if recovery else "failed"
    return "connected"


async def apply_faults(link: FaultyLink, faults: list[Fault], start: float) -> None:
    """Play `faults` on `link`, each at `start + fault.at` (loop time), and
    undo each after its duration (all but a permanent cut; a move is for good)."""
    loop = asyncio.get_running_loop()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at - loop.time()))
        if fault.kind == "move":
            await link.move()
            continue
        if fault.kind in ("cut", "permanent", "outage"):
            link.cut()
        elif fault.kind == "oneway":
            link.cut(fault.detail)
        elif fault.kind == "loss":
            link.set_loss(fault.detail)
        else:
            link.set_delay(fault.detail)
        if fault.kind == "permanent":
            return
        await asyncio.sleep(fault.duration)
        link.restore()
        link.set_loss(0.0)
        link.set_delay(0.0)
