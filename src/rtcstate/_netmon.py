"""One network monitor per process: what the operating system says when an address
or an interface comes or goes, told to every subscriber.

On Linux the monitor reads rtnetlink (a `NETLINK_ROUTE` socket bound to the link
and address groups, read by the event loop as it becomes readable: no polling),
decoded by [`rtcstate._netlink.Decoder`][]. Elsewhere, or where that socket cannot
be had, it reads the interface list every `poll_interval` seconds and reports the
difference. Where neither works it is off, and says so once in the log.

It runs only while someone subscribes: the first subscription starts it, on the
running loop, and the last one's end stops it, closing its socket or timer. A
subscriber's exception is logged and changes nothing for the others.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Literal

import ifaddr

from ._netlink import (
    GROUPS,
    RTM_GETADDR,
    RTM_GETLINK,
    Decoder,
    NetworkChange,
    dump_request,
    ends_dump,
)
from ._netlink import diff as diff_readings

__all__ = ["Mode", "NetworkMonitor", "interface_addresses", "monitor"]

logger = logging.getLogger("rtcstate")

Mode = Literal["stopped", "netlink", "polling", "off"]
Subscriber = Callable[[NetworkChange], None]

POLL_INTERVAL = 2.0  # seconds between two readings of the interface list
_READS = 64  # datagrams read per wake-up at most (the rest at the next one)
_DUMP_READS = 1000  # datagrams of a start-up dump at most


def interface_addresses() -> list[tuple[str, str, int]]:
    """(interface, address, IPv6 scope id or 0) of every address, as ifaddr
    lists them."""
    found: list[tuple[str, str, int]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.append((str(adapter.nice_name), ip.ip, 0))
            else:
                found.append((str(adapter.nice_name), ip.ip[0], ip.ip[2]))
    return found


def _reading() -> list[tuple[str, str]]:
    """(interface, address) of every address: what polling compares."""
    return [(name, address) for name, address, _ in interface_addresses()]


class NetworkMonitor:
    """See the module. `netlink=False` goes straight to polling (as where
    rtnetlink is missing)."""

    def __init__(
        self, poll_interval: float = POLL_INTERVAL, netlink: bool = True
    ) -> None:
        self.poll_interval = poll_interval
        self._use_netlink = netlink
        self._subscribers: list[Subscriber] = []
        self._mode: Mode = "stopped"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: socket.socket | None = None
        self._decoder: Decoder | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last: list[tuple[str, str]] = []
        self._said_off = False

    @property
    def mode(self) -> Mode:
        """How it watches now: `"netlink"`, `"polling"`, `"off"` (neither
        works here), or `"stopped"` (no subscriber)."""
        return self._mode

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Tell `subscriber` each change from now on; returns what ends that
        (once; idempotent). Starts the monitor on the running loop if it is
        the first."""
        self._subscribers.append(subscriber)
        if self._mode == "stopped":
            self._start()
        ended = False

        def unsubscribe() -> None:
            nonlocal ended
            if ended:
                return
            ended = True
            self._subscribers.remove(subscriber)
            if not self._subscribers:
                self._stop()

        return unsubscribe

    # --- start and stop ---------------------------------------------------------

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._use_netlink and self._start_netlink():
            self._mode = "netlink"
            return
        try:
            self._last = _reading()
        except Exception as exc:
            self._mode = "off"
            if not self._said_off:
                self._said_off = True
                logger.warning(
                    "rtcstate: no network monitor here (no rtnetlink, and the "
                    "interface list cannot be read: %r); network changes are "
                    "noticed by liveness alone",
                    exc,
                )
            return
        self._mode = "polling"
        self._timer = self._loop.call_later(self.poll_interval, self._poll)

    def _start_netlink(self) -> bool:
        try:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE
            )
        except (AttributeError, OSError):
            return False  # not Linux, or not allowed: poll instead
        decoder = Decoder()
        try:
            sock.setblocking(False)
            sock.bind((0, GROUPS))
            # what is, before any change: a dump on a socket of its own (what
            # changes meanwhile comes on this one too, and repeats no fact)
            _seed(decoder)
            assert self._loop is not None
            self._loop.add_reader(sock.fileno(), self._readable)
        except Exception:
            sock.close()
            logger.info("rtcstate: rtnetlink unusable, polling", exc_info=True)
            return False
        self._socket, self._decoder = sock, decoder
        return True

    def _stop(self) -> None:
        if self._socket is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = self._decoder = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._mode = "stopped"
        self._loop = None

    # --- changes ------------------------------------------------------------------

    def _readable(self) -> None:
        sock, decoder = self._socket, self._decoder
        if sock is None or decoder is None:
            return
        for _ in range(_READS):
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:  # ENOBUFS: the kernel dropped messages
                logger.info("rtcstate: rtnetlink: %r; reading what is again", exc)
                self._reseed()
                return
            for change in decoder.feed(data):
                self._tell(change)

    def _reseed(self) -> None:
        """After lost messages: read what is now and tell the address changes
        since (links are read again without telling)."""
        if self._decoder is None:
            return
        before = {(name, address) for (_, address), name in self._decoder.addresses()}
        fresh = Decoder()
        try:
            _seed(fresh)
        except OSError:
            return
        self._decoder = fresh
        after = {(name, address) for (_, address), name in fresh.addresses()}
        for change in diff_readings(sorted(before), sorted(after)):
            self._tell(change)

    def _poll(self) -> None:
        self._timer = None
        if self._mode != "polling" or self._loop is None:
            return
        try:
            now = _reading()
        except Exception:
            logger.info("rtcstate: reading the interfaces failed", exc_info=True)
            now = self._last
        changes, self._last = diff_readings(self._last, now), now
        for change in changes:
            self._tell(change)
        if self._mode == "polling":  # a subscriber may have ended it
            self._timer = self._loop.call_later(self.poll_interval, self._poll)

    def _tell(self, change: NetworkChange) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(change)
            except Exception:
                logger.exception("rtcstate: a network change subscriber raised")


def _seed(decoder: Decoder) -> None:
    """Feed `decoder` the kernel's dump of every link and address, without
    telling (a blocking socket of its own, each read bounded)."""
    with socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE
    ) as sock:
        sock.settimeout(1.0)
        for sequence, kind in enumerate((RTM_GETLINK, RTM_GETADDR), start=1):
            sock.send(dump_request(kind, sequence))
            for _ in range(_DUMP_READS):
                data = sock.recv(65536)
                decoder.feed(data, announce=False)
                if ends_dump(data):
                    break


_MONITOR: NetworkMonitor | None = None


def monitor() -> NetworkMonitor:
    """The process's network monitor (made at the first call)."""
    global _MONITOR
    if _MONITOR is None:
        _MONITOR = NetworkMonitor()
    return _MONITOR
