"""rtcstate._netlink: rtnetlink messages read on plain bytes, and checked once
against the running kernel's own answer."""

from __future__ import annotations

import socket
import struct

import pytest

from rtcstate._netlink import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    Decoder,
    NetworkChange,
    diff,
    dump_request,
)

UP = 0x1 | 0x40  # IFF_UP | IFF_RUNNING


def _attribute(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _message(kind: int, body: bytes) -> bytes:
    raw = struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body
    return raw + b"\0" * (-len(raw) % 4)


def link(kind: int, index: int, flags: int, name: str | None = None) -> bytes:
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 1, index, flags, 0)
    if name is not None:
        body += _attribute(3, name.encode() + b"\0")
    return _message(kind, body)


def addr(
    kind: int,
    index: int,
    address: str,
    label: str | None = None,
    peer: str | None = None,
) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    body = struct.pack("=BBBBI", family, 24, 0, 0, index)
    raw = socket.inet_pton(family, address)
    if family == socket.AF_INET:
        body += _attribute(1, socket.inet_pton(family, peer or address))
        body += _attribute(2, raw)
    else:
        body += _attribute(1, raw)
    if label is not None:
        body += _attribute(3, label.encode() + b"\0")
    return _message(kind, body)


def _names(index: int) -> str | None:
    return {2: "wifi", 3: "cell"}.get(index)


def test_an_address_comes_and_goes_once() -> None:
    decoder = Decoder(_names)
    assert decoder.feed(addr(RTM_NEWADDR, 2, "10.71.0.1", "wifi")) == [
        NetworkChange("address-added", "wifi", "10.71.0.1")
    ]
    # the kernel says it again (flags, lifetimes): no change
    assert decoder.feed(addr(RTM_NEWADDR, 2, "10.71.0.1", "wifi")) == []
    (gone,) = decoder.feed(addr(RTM_DELADDR, 2, "10.71.0.1"))
    assert gone == NetworkChange("address-removed", "wifi", "10.71.0.1")
    assert str(gone) == "address removed: 10.71.0.1 (wifi)"


def test_ipv6_and_point_to_point_addresses() -> None:
    decoder = Decoder(_names)
    assert decoder.feed(addr(RTM_NEWADDR, 3, "fd00::2")) == [
        NetworkChange("address-added", "cell", "fd00::2")
    ]
    # IPv4 point-to-point: IFA_ADDRESS is the peer's, IFA_LOCAL the interface's
    assert decoder.feed(addr(RTM_NEWADDR, 2, "10.8.0.2", "tun0", peer="10.8.0.1")) == [
        NetworkChange("address-added", "tun0", "10.8.0.2")
    ]
    # an alias label ("wifi:1") names its interface
    assert decoder.feed(addr(RTM_NEWADDR, 2, "10.71.0.9", "wifi:1")) == [
        NetworkChange("address-added", "wifi", "10.71.0.9")
    ]


def test_a_link_goes_down_and_up() -> None:
    decoder = Decoder(_names)
    assert decoder.feed(link(RTM_NEWLINK, 2, UP, "wifi")) == [
        NetworkChange("link-up", "wifi")
    ]
    assert decoder.feed(link(RTM_NEWLINK, 2, UP, "wifi")) == []  # no change
    assert decoder.feed(link(RTM_NEWLINK, 2, 0x1)) == [  # up, not running
        NetworkChange("link-down", "wifi")
    ]
    assert decoder.feed(link(RTM_NEWLINK, 2, UP)) == [NetworkChange("link-up", "wifi")]
    assert decoder.feed(link(RTM_DELLINK, 2, 0)) == [NetworkChange("link-down", "wifi")]
    # a link first seen down is no news
    assert decoder.feed(link(RTM_NEWLINK, 4, 0, "eth9")) == []


def test_the_dump_seeds_without_announcing() -> None:
    decoder = Decoder(_names)
    dump = link(RTM_NEWLINK, 2, UP, "wifi") + addr(RTM_NEWADDR, 2, "10.71.0.1", "wifi")
    assert decoder.feed(dump, announce=False) == []
    assert decoder.feed(addr(RTM_NEWADDR, 2, "10.71.0.1", "wifi")) == []
    assert decoder.feed(link(RTM_NEWLINK, 2, UP)) == []
    both = addr(RTM_DELADDR, 2, "10.71.0.1") + link(RTM_NEWLINK, 2, 0)
    assert decoder.feed(both) == [
        NetworkChange("address-removed", "wifi", "10.71.0.1"),
        NetworkChange("link-down", "wifi"),
    ]


def test_an_unknown_index_and_bad_bytes() -> None:
    decoder = Decoder(lambda index: None)
    assert decoder.feed(addr(RTM_NEWADDR, 7, "10.0.0.7")) == [
        NetworkChange("address-added", "#7", "10.0.0.7")
    ]
    good = addr(RTM_NEWADDR, 7, "10.0.0.8")
    assert decoder.feed(good + good[:10]) == [  # a truncated second message
        NetworkChange("address-added", "#7", "10.0.0.8")
    ]
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\xff" * 40) == []  # a length past the end
    assert decoder.feed(_message(RTM_NEWADDR, b"\x02")) == []  # short body
    assert decoder.feed(_message(99, b"\0" * 8)) == []  # another message type


def test_diff_of_two_readings() -> None:
    before = [("wifi", "10.71.0.1"), ("cell", "10.72.0.1"), ("lo", "127.0.0.1")]
    after = [("cell", "10.72.0.1"), ("lo", "127.0.0.1"), ("wifi", "10.71.0.5")]
    assert diff(before, after) == [
        NetworkChange("address-removed", "wifi", "10.71.0.1"),
        NetworkChange("address-added", "wifi", "10.71.0.5"),
    ]
    assert diff(after, after) == []


def _kernel_socket() -> socket.socket:
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    except (AttributeError, OSError) as exc:
        pytest.skip(f"no rtnetlink here: {exc!r}")
    sock.settimeout(2)
    return sock


def _dump(sock: socket.socket, kind: int, decoder: Decoder) -> None:
    sock.send(dump_request(kind, 1))
    for _ in range(100):  # bounded: a dump ends with NLMSG_DONE
        data = sock.recv(65536)
        decoder.feed(data, announce=False)
        if struct.unpack_from("=H", data, 4)[0] == 3:  # NLMSG_DONE
            return
    raise AssertionError("the dump did not end")


def test_the_kernels_own_dump_is_read() -> None:
    """The struct layouts, against the running kernel: the loopback interface
    and its 127.0.0.1 are in its answer, so removing them is a change."""
    decoder = Decoder()
    with _kernel_socket() as sock:
        _dump(sock, RTM_GETLINK, decoder)
        _dump(sock, RTM_GETADDR, decoder)
    assert (
        decoder.feed(addr(RTM_NEWADDR, socket.if_nametoindex("lo"), "127.0.0.1")) == []
    )
    (change,) = decoder.feed(
        addr(RTM_DELADDR, socket.if_nametoindex("lo"), "127.0.0.1")
    )
    assert change == NetworkChange("address-removed", "lo", "127.0.0.1")


def test_a_link_change_names_the_addresses_it_holds() -> None:
    decoder = Decoder(_names)
    seed = link(RTM_NEWLINK, 2, UP, "wifi") + addr(RTM_NEWADDR, 2, "10.71.0.1", "wifi")
    decoder.feed(seed + addr(RTM_NEWADDR, 3, "10.72.0.1", "cell"), announce=False)
    assert decoder.feed(link(RTM_NEWLINK, 2, 0)) == [
        NetworkChange("link-down", "wifi", addresses=("10.71.0.1",))
    ]
