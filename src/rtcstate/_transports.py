"""The transports one aiortc connection counts, and what aiortc says of them.

A connection counts the ICE and DTLS transports of its transceivers and of its SCTP
transport (one pair per m-line, or one shared pair when bundled). Which ones count is
re-read by [`Transports.sync`][rtcstate._transports.Transports.sync] when the
descriptions change (as in a browser, where transports come into being with
setLocalDescription / setRemoteDescription). Each counted transport is subscribed to,
through a weak reference so that aiortc's objects never keep a dropped tracker alive,
and [`Transports.snapshots`][rtcstate._transports.Transports.snapshots] reads them into
the plain values the state machine takes. Nothing here decides a state.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc import RTCDtlsTransport, RTCIceTransport, RTCPeerConnection

from . import _shims
from ._events import Cause
from ._guards import guard_connection
from ._machine import DtlsSnapshot, IceSnapshot
from ._options import Loopback
from ._tracked import Listeners, TrackedIce

__all__ = ["Transports", "carried_mids", "carriers", "ice_transports"]


@dataclass(eq=False, slots=True)
class _Dtls:
    transport: RTCDtlsTransport
    index: int
    listeners: Listeners = field(default_factory=list)


class Transports:
    """The counted ICE and DTLS transports of `pc`.

    :param pc: the aiortc connection.
    :param on_statechange: called with a [`Cause`][rtcstate.Cause] when one of them
        fires `"statechange"`.
    :param loopback: passed to the guards installed on each new ICE transport.
    :param on_error: told of an exception in those guards, which are worth less
        than the connection (it goes on without them).
    """

    __slots__ = (
        "__weakref__",  # the transports' listeners hold it weakly
        "_dtls",
        "_ice",
        "_labels",
        "_loopback",
        "_next_index",
        "_on_error",
        "_on_statechange",
        "_pc",
    )

    def __init__(
        self,
        pc: RTCPeerConnection,
        on_statechange: Callable[[Cause], None],
        loopback: Loopback,
        on_error: Callable[[str, Exception], None],
    ) -> None:
        self._pc = pc
        self._on_statechange = on_statechange
        self._loopback = loopback
        self._on_error = on_error
        self._ice: dict[RTCIceTransport, TrackedIce] = {}
        self._dtls: dict[RTCDtlsTransport, _Dtls] = {}
        self._next_index = {"ice": 0, "dtls": 0}
        # once known, the mids change only when descriptions are applied, which
        # calls sync()
        self._labels: dict[Any, str] = {}

    @property
    def pc(self) -> RTCPeerConnection:
        """The aiortc connection."""
        return self._pc

    @property
    def ice(self) -> list[RTCIceTransport]:
        """The counted ICE transports."""
        return list(self._ice)

    @property
    def dtls(self) -> list[RTCDtlsTransport]:
        """The counted DTLS transports."""
        return list(self._dtls)

    def __contains__(self, transport: object) -> bool:
        return transport in self._ice or transport in self._dtls

    def tracked(self, transport: RTCIceTransport) -> TrackedIce | None:
        """What is kept of a counted ICE transport, `None` for another."""
        return self._ice.get(transport)

    @property
    def tracked_ice(self) -> list[TrackedIce]:
        """What is kept of each counted ICE transport."""
        return list(self._ice.values())

    def sync(self) -> bool:
        """Re-read which transports count: subscribe to new ones, drop old ones.

        :returns: whether the set changed.
        """
        dtls_now = {dtls: None for _, dtls in carriers(self._pc)}
        ice_now = {d.transport: None for d in dtls_now}
        self._labels.clear()

        changed = False
        for old_dtls in [d for d in self._dtls if d not in dtls_now]:
            _unsubscribe(self._dtls.pop(old_dtls).listeners)
            changed = True
        for old_ice in [i for i in self._ice if i not in ice_now]:
            _drop(self._ice.pop(old_ice))
            changed = True
        for ice_transport in ice_now:
            if ice_transport not in self._ice:
                self._ice[ice_transport] = self._subscribe_ice(ice_transport)
                changed = True
        for dtls_transport in dtls_now:
            if dtls_transport not in self._dtls:
                entry = _Dtls(dtls_transport, self._next("dtls"))
                self._subscribe("dtls", entry, [dtls_transport])
                self._dtls[dtls_transport] = entry
                changed = True
        return changed

    def close(self) -> None:
        """Unsubscribe from every transport, stop what is kept of each, and
        count none."""
        for tracked in self._ice.values():
            _drop(tracked)
        for entry in self._dtls.values():
            _unsubscribe(entry.listeners)
        self._ice.clear()
        self._dtls.clear()

    def snapshots(
        self,
    ) -> tuple[
        dict[RTCIceTransport, IceSnapshot], dict[RTCDtlsTransport, DtlsSnapshot]
    ]:
        """What aiortc says of every counted transport now, for the state machine."""
        ice = {
            transport: tracked.snapshot(
                self.label(transport),
                tuple(d for d in self._dtls if d.transport is transport),
            )
            for transport, tracked in self._ice.items()
        }
        dtls = {
            transport: DtlsSnapshot(
                self.label(transport),
                transport.state,
                remote_hangup=transport.state == "closed"
                and self._closed_by_remote(transport),
            )
            for transport in self._dtls
        }
        return ice, dtls

    def _closed_by_remote(self, transport: RTCDtlsTransport) -> bool:
        """A closed DTLS transport that aioice's closing did not close: the
        remote's close_notify closed it (aiortc reports both alike)."""
        return not _shims.ice_closing(transport.transport)

    def label(self, transport: RTCIceTransport | RTCDtlsTransport) -> str:
        """`ice#0 (mid 0,1)`: the transport's kind, index and the mids it carries."""
        label = self._labels.get(transport)
        if label is None:
            label = self._make_label(transport)
            if "(mid" in label:  # before its mids are known, ask again
                self._labels[transport] = label
        return label

    def _make_label(self, transport: RTCIceTransport | RTCDtlsTransport) -> str:
        if isinstance(transport, RTCIceTransport):
            kind, index = "ice", self._ice[transport].index
            mids = carried_mids(self._pc, transport)
        else:
            kind, index = "dtls", self._dtls[transport].index
            mids = [
                m for m, d in carriers(self._pc) if m is not None and d is transport
            ]
        named = f" (mid {','.join(mids)})" if mids else ""
        return f"{kind}#{index}{named}"

    def describe(self) -> str:
        return f"{len(self._ice)} ICE, {len(self._dtls)} DTLS transport(s)"

    def _next(self, kind: Literal["ice", "dtls"]) -> int:
        index = self._next_index[kind]
        self._next_index[kind] = index + 1
        return index

    def _subscribe_ice(self, transport: RTCIceTransport) -> TrackedIce:
        try:
            guard_connection(transport, self._loopback)
        except Exception as exc:  # the guards are worth less than the connection
            self._on_error("guard_connection", exc)
        tracked = TrackedIce(transport, self._next("ice"))
        self._subscribe("ice", tracked, [transport, transport.iceGatherer])
        return tracked

    def _subscribe(
        self,
        kind: Literal["ice", "dtls"],
        entry: TrackedIce | _Dtls,
        emitters: list[Any],
    ) -> None:
        transport = entry.transport
        # A weak reference: the transports must not keep a dropped tracker alive.
        ref = weakref.ref(self)

        def on_statechange() -> None:
            transports = ref()
            if transports is not None and transport in transports:
                transports._on_statechange(
                    Cause(kind, transports.label(transport), transport.state)
                )

        for emitter in emitters:
            emitter.on("statechange", on_statechange)
            entry.listeners.append((emitter, on_statechange))


def carriers(pc: RTCPeerConnection) -> list[tuple[str | None, RTCDtlsTransport]]:
    """(mid, DTLS transport) of each m-line's carrier: the transceivers', then
    the SCTP transport's."""
    found: list[tuple[str | None, RTCDtlsTransport]] = [
        (t.mid, t.receiver.transport) for t in pc.getTransceivers()
    ]
    if pc.sctp is not None:
        found.append((pc.sctp.mid, pc.sctp.transport))
    return found


def ice_transports(pc: RTCPeerConnection) -> list[RTCIceTransport]:
    """The ICE transports under `pc`'s carriers, each once, in order."""
    return list({dtls.transport: None for _, dtls in carriers(pc)})


def carried_mids(pc: RTCPeerConnection, transport: RTCIceTransport) -> list[str]:
    """The mids of the m-lines `transport` carries."""
    return [m for m, d in carriers(pc) if m is not None and d.transport is transport]


def _drop(tracked: TrackedIce) -> None:
    _unsubscribe(tracked.listeners)
    tracked.close()


def _unsubscribe(listeners: Listeners) -> None:
    for emitter, callback in listeners:
        # aiortc drops every listener of an ICE transport when it closes.
        if callback in emitter.listeners("statechange"):
            emitter.remove_listener("statechange", callback)
    listeners.clear()
