"""The DTLS transport's datagrams while ICE restarts swap the aioice `Connection`
under it (see [`rtcstate._restart`][]).

[`Datapath`][rtcstate._datapath.Datapath] takes over aiortc's ICE transport's
`_recv` / `_send`: it reads one shared queue (the first `Connection`'s, which every
later one delivers to) and writes to the active `Connection`. While a new pair is
unproven it writes to the old one too (DTLS and SRTP drop the duplicates by their
replay windows), and the first datagram the new `Connection` delivers, or a
deadline, proves the new pair. [`GathererWake`][rtcstate._datapath.GathererWake]
wakes a restart's checks when the gatherer finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport

from . import _shims

__all__ = ["Datapath", "GathererWake"]


class Datapath:
    """The datagrams of one ICE transport, once rtcstate carries them.

    :param transport: aiortc's ICE transport; its current `Connection`'s queue
        becomes the shared one.
    """

    __slots__ = ("_proof", "active", "previous", "queue")

    def __init__(self, transport: RTCIceTransport) -> None:
        current = _shims.connection(transport)
        self.queue: asyncio.Queue[Any] = _shims.data_queue(current)
        self.active: Any = None if _shims.closing(current) else current
        """the `Connection` sent on (`None`: consent expired, nothing is sent)"""
        self.previous: Any = None
        """the old `Connection` while the new pair is unproven"""
        self._proof: asyncio.TimerHandle | None = None
        _shims.set_datapath(transport, self.recv, self.send)
        _shims.monitor_connections(transport)

    async def recv(self) -> bytes:
        item = await self.queue.get()
        if item is None:  # as aioice's recv(): its connection was lost
            raise ConnectionError("Connection lost while receiving data")
        data: bytes = item[0]
        return data

    async def send(self, data: bytes) -> None:
        active = self.active
        if active is None:
            return  # consent expired: nothing goes to the remote
        previous = self.previous
        if previous is not None:
            # the new pair is unproven: the remote may still be on the old one
            with contextlib.suppress(ConnectionError):
                await previous.send(data)
        await active.send(data)

    def prove(self, old: Any, deadline: float, proven: Callable[[], None]) -> None:
        """The active `Connection` is new: keep sending on `old` too until
        `proven()` is called, by the first datagram the new one delivers or
        after `deadline` seconds."""
        self.previous = old
        _shims.set_data_queue(self.active, _ProofInlet(self.queue, proven))
        self._proof = asyncio.get_running_loop().call_later(deadline, proven)

    def stop_proving(self) -> Any:
        """Stop sending on the old `Connection`; return it (`None` if none)."""
        previous, self.previous = self.previous, None
        if self._proof is not None:
            self._proof.cancel()
            self._proof = None
        active = self.active
        if previous is not None and active is not None and not _shims.closing(active):
            _shims.set_data_queue(active, self.queue)
        return previous


class _ProofInlet:
    """What an unproven new `Connection` delivers its datagrams to: the shared
    queue, and the first datagram (the remote's DTLS, SRTP or SCTP on the new
    pair) proves the pair."""

    __slots__ = ("_proven", "_queue")

    def __init__(self, queue: asyncio.Queue[Any], proven: Callable[[], None]) -> None:
        self._queue = queue
        self._proven = proven

    def put_nowait(self, item: Any) -> None:
        self._queue.put_nowait(item)
        if item is not None:
            self._proven()


class GathererWake:
    """Wakes a restart's checks each time the ICE gatherer's state changes
    (its candidates are gathered), or when poked (the remote's credentials
    arrived)."""

    __slots__ = ("_event", "_gatherer", "_listening")

    def __init__(self, transport: RTCIceTransport) -> None:
        self._gatherer = transport.iceGatherer
        self._event: asyncio.Event | None = None
        self._listening = False

    def renew(self) -> asyncio.Event:
        """A new event for a new restart's checks to wait on, listening."""
        if not self._listening:
            self._gatherer.on("statechange", self.poke)
            self._listening = True
        self._event = asyncio.Event()
        return self._event

    def poke(self) -> None:
        if self._event is not None:
            self._event.set()

    def close(self) -> None:
        if self._listening and self.poke in self._gatherer.listeners("statechange"):
            self._gatherer.remove_listener("statechange", self.poke)
        self._listening = False
