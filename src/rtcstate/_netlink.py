"""What the operating system says when a network changes, read without IO.

Theory of operation. On Linux, a netlink socket of the `NETLINK_ROUTE` family,
bound to the link and address groups, receives a datagram whenever an interface
goes up or down or an address is added or removed; each datagram holds one or more
netlink messages (RFC 3549). [`Decoder`][rtcstate._netlink.Decoder] turns those
bytes into [`NetworkChange`][rtcstate._netlink.NetworkChange]s. It remembers what it
has seen, so that a message repeating a known fact (the kernel re-sends a link's
state on any attribute change, and an IPv6 address on each lifetime update) is no
change; the dump that answers a request at start seeds it without announcing.

Elsewhere, [`diff`][rtcstate._netlink.diff] compares two readings of the interface
list, for a monitor that polls.

The asyncio side (the socket, the poll timer, one monitor per process) is in
[`rtcstate._netmon`][]; everything here runs on plain values.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GROUPS",
    "Decoder",
    "NetworkChange",
    "diff",
    "dump_request",
    "ends_dump",
]

ChangeKind = Literal["address-added", "address-removed", "link-up", "link-down"]

# linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h, linux/if.h
_NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_NLMSG_DONE, _NLMSG_ERROR = 3, 2
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
_RTATTR = struct.Struct("=HH")  # length, type
IFLA_IFNAME = 3
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
IFF_UP, IFF_RUNNING = 0x1, 0x40
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100
#: the multicast groups a monitor's socket binds to
GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR


@dataclass(frozen=True, slots=True)
class NetworkChange:
    """One change the operating system reported.

    :ivar kind: `"address-added"`, `"address-removed"`, `"link-up"` or
        `"link-down"` (a link is up when it is administratively up and running).
    :ivar interface: the interface's name (`"#<index>"` if it is not known).
    :ivar address: the IP address, for an address change; else `None`.
    :ivar addresses: for a link change, the addresses the interface holds (as
        far as the messages told them).
    """

    kind: ChangeKind
    interface: str
    address: str | None = None
    addresses: tuple[str, ...] = ()

    def __str__(self) -> str:
        what = self.kind.replace("-", " ")
        if self.address is not None:
            return f"{what}: {self.address} ({self.interface})"
        return f"{what}: {self.interface}"


def _attributes(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while offset + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size or offset + length > end:
            break  # malformed: ignore the rest of this message
        found.setdefault(kind, data[offset + _RTATTR.size : offset + length])
        offset += (length + 3) & ~3
    return found


def _address(family: int, raw: bytes) -> str | None:
    if family == socket.AF_INET and len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if family == socket.AF_INET6 and len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return None


class Decoder:
    """rtnetlink link and address messages in, changes out (see the module).

    :param name_of: an interface's name from its index, or `None` (by default
        `socket.if_indextoname`), for messages that do not carry it.
    """

    def __init__(self, name_of: Callable[[int], str | None] | None = None) -> None:
        self._name_of = name_of or _index_to_name
        self._names: dict[int, str] = {}
        self._up: dict[int, bool] = {}
        self._addresses: dict[tuple[int, str], str] = {}

    def feed(self, data: bytes, announce: bool = True) -> list[NetworkChange]:
        """The changes in one datagram; with `announce=False` (the answer to
        a dump) it only records what is."""
        changes: list[NetworkChange] = []
        offset = 0
        while offset + _NLMSG_HEADER.size <= len(data):
            length, kind, _, _, _ = _NLMSG_HEADER.unpack_from(data, offset)
            if length < _NLMSG_HEADER.size or offset + length > len(data):
                break  # malformed or truncated: nothing more can be read
            body, end = offset + _NLMSG_HEADER.size, offset + length
            if kind in (RTM_NEWLINK, RTM_DELLINK):
                change = self._link(kind, data, body, end)
            elif kind in (RTM_NEWADDR, RTM_DELADDR):
                change = self._addr(kind, data, body, end)
            else:
                change = None  # NLMSG_DONE, errors, other families
            if change is not None and announce:
                changes.append(change)
            offset += (length + 3) & ~3
        return changes

    def addresses(self) -> list[tuple[tuple[int, str], str]]:
        """((interface index, address), interface name) of each address known."""
        return list(self._addresses.items())

    def _name(self, index: int) -> str:
        name = self._names.get(index) or self._name_of(index)
        return name or f"#{index}"

    def _link(
        self, kind: int, data: bytes, body: int, end: int
    ) -> NetworkChange | None:
        if body + _IFINFOMSG.size > end:
            return None
        _, _, index, flags, _ = _IFINFOMSG.unpack_from(data, body)
        raw = _attributes(data, body + _IFINFOMSG.size, end).get(IFLA_IFNAME)
        if raw:
            self._names[index] = raw.split(b"\0", 1)[0].decode(errors="replace")
        name = self._name(index)
        up = kind == RTM_NEWLINK and flags & (IFF_UP | IFF_RUNNING) == (
            IFF_UP | IFF_RUNNING
        )
        before = self._up.get(index)
        if kind == RTM_DELLINK:
            self._up.pop(index, None)
            self._names.pop(index, None)
        else:
            self._up[index] = up
        held = tuple(address for i, address in self._addresses if i == index)
        if before is None and kind == RTM_NEWLINK:
            # a link not seen before: news only if it comes up
            return NetworkChange("link-up", name, addresses=held) if up else None
        if before == up:
            return None
        return NetworkChange("link-up" if up else "link-down", name, addresses=held)

    def _addr(
        self, kind: int, data: bytes, body: int, end: int
    ) -> NetworkChange | None:
        if body + _IFADDRMSG.size > end:
            return None
        family, _, _, _, index = _IFADDRMSG.unpack_from(data, body)
        attributes = _attributes(data, body + _IFADDRMSG.size, end)
        # IPv4: IFA_LOCAL is the interface's address (IFA_ADDRESS the peer's on
        # a point-to-point link); IPv6 has IFA_ADDRESS only
        raw = attributes.get(IFA_LOCAL) or attributes.get(IFA_ADDRESS)
        address = None if raw is None else _address(family, raw)
        if address is None:
            return None
        label = attributes.get(IFA_LABEL)
        name = (
            label.split(b"\0", 1)[0].decode(errors="replace").split(":", 1)[0]
            if label
            else self._name(index)
        )
        key = (index, address)
        if kind == RTM_NEWADDR:
            if key in self._addresses:
                return None  # known: a lifetime or flags update
            self._addresses[key] = name
            return NetworkChange("address-added", name, address)
        known = self._addresses.pop(key, None)
        return NetworkChange("address-removed", known or name, address)


def _index_to_name(index: int) -> str | None:
    try:
        return socket.if_indextoname(index)
    except OSError:  # gone already
        return None


def dump_request(kind: int, sequence: int) -> bytes:
    """A request for every link (`RTM_GETLINK`) or address (`RTM_GETADDR`),
    whose answer seeds a [`Decoder`][rtcstate._netlink.Decoder]."""
    if kind == RTM_GETLINK:
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    else:
        body = _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    header = _NLMSG_HEADER.pack(
        _NLMSG_HEADER.size + len(body), kind, _NLM_F_REQUEST | _NLM_F_DUMP, sequence, 0
    )
    return header + body


def ends_dump(data: bytes) -> bool:
    """Whether a datagram ends the answer to a dump (it holds `NLMSG_DONE`, or
    an error), or cannot be read further."""
    offset = 0
    while offset + _NLMSG_HEADER.size <= len(data):
        length, kind, _, _, _ = _NLMSG_HEADER.unpack_from(data, offset)
        if kind in (_NLMSG_DONE, _NLMSG_ERROR) or length < _NLMSG_HEADER.size:
            return True
        offset += (length + 3) & ~3
    return False


def diff(
    before: Iterable[tuple[str, str]], after: Iterable[tuple[str, str]]
) -> list[NetworkChange]:
    """The address changes between two readings of (interface, address)
    pairs, removals first, each list in order."""
    old, new = list(dict.fromkeys(before)), list(dict.fromkeys(after))
    old_set, new_set = set(old), set(new)
    return [
        NetworkChange("address-removed", name, address)
        for name, address in old
        if (name, address) not in new_set
    ] + [
        NetworkChange("address-added", name, address)
        for name, address in new
        if (name, address) not in old_set
    ]
