"""STUN for ICE keepalives, on bytes: rtcstate's codec, with no socket, no asyncio
and no aiortc or aioice object in it.

Theory of operation
-------------------
A connection sends one keepalive (an ICE binding request, RFC 8445 7.1.1) a second
on its selected pair, receives the answer, and answers the remote's keepalive: three
STUN messages a second, each signed with MESSAGE-INTEGRITY (HMAC-SHA1 with an ICE
password) and closed with a FINGERPRINT (CRC-32). aioice's `Message` serialises
a message three times to sign it and its parser costs about 5 us a message, as much
as the rest of a keepalive's handling, so the common forms are done here by hand:

* **built by hand**: the binding request (`binding_request`: USERNAME,
  PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED, USE-CANDIDATE) and the binding
  success response (`binding_response`: XOR-MAPPED-ADDRESS), each
  byte for byte what aioice's `Connection.build_request` and
  `request_received` make (`tests/test_stun.py` and
  `tests/test_internals.py` compare the bytes). The parts that do not change
  between keepalives of one pair (the request's attributes, an IPv4 address) are
  cached.
* **read by hand**: `scan` walks a message exactly as aioice's
  `parse_message` does, for the attributes keepalives and their answers carry
  (`USERNAME`, `PRIORITY`, the roles, `USE-CANDIDATE`,
  `XOR-MAPPED-ADDRESS`, `MESSAGE-INTEGRITY`, `FINGERPRINT`), and refuses
  what aioice refuses; `authenticated` then checks MESSAGE-INTEGRITY.
* **deferred to aioice**: a message holding any other attribute aioice reads, or
  a value cut short by the datagram's end, makes `scan` return
  `ASK_AIOICE`, and `authenticated` reads it with aioice's
  `stun.parse_message` and `check_message_integrity` (`_read`). Whatever
  rtcstate takes from the network, aioice would take too;
  `tests/test_stun_fuzz.py` holds the two readers together on random and
  mutated messages.

HMAC-SHA1 keys (the ICE passwords) are prepared once (`prepared_mac`, the
standard library's `hmac` object before any message) and copied for each
message: `Macs` keeps them by password. `hmac.digest` would pad the key
and hash it again on every call.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import struct
from collections.abc import Callable
from socket import AF_INET6, inet_aton, inet_pton  # address packing, no socket
from typing import Any

__all__ = [
    "ASK_AIOICE",
    "BINDING_REQUEST",
    "BINDING_SUCCESS",
    "COOKIE_BYTES",
    "AskAioice",
    "Key",
    "Macs",
    "authenticated",
    "binding_request",
    "binding_response",
    "prepared_mac",
    "scan",
]

_COOKIE = 0x2112A442
_FINGERPRINT_XOR = 0x5354554E
_USERNAME, _PRIORITY, _MESSAGE_INTEGRITY = 0x0006, 0x0024, 0x0008
_ICE_CONTROLLED, _ICE_CONTROLLING, _FINGERPRINT = 0x8029, 0x802A, 0x8028
_XOR_MAPPED_ADDRESS, _USE_CANDIDATE = 0x0020, 0x0025

COOKIE_BYTES = struct.pack("!I", _COOKIE)
"""the magic cookie, as it stands at bytes 4:8 of every RFC 5389 message"""
BINDING_REQUEST = b"\x00\x01"
"""the first two bytes (the message type) of a binding request"""
BINDING_SUCCESS = b"\x01\x01"
"""the first two bytes (the message type) of a binding success response"""


# --- HMAC-SHA1 ---------------------------------------------------------------------

Key = bytes | hmac.HMAC
"""an HMAC-SHA1 key: the password's bytes, or the same made by `prepared_mac`"""


def prepared_mac(key: bytes) -> hmac.HMAC:
    """HMAC-SHA1 with `key`, before any message: the key schedule (the padded
    key's inner and outer hash states, RFC 2104) done once. Each message is
    signed or checked on a `copy()` of it."""
    return hmac.new(key, digestmod=hashlib.sha1)


def _digest(key: Key, message: bytes) -> bytes:
    mac = (key if isinstance(key, hmac.HMAC) else prepared_mac(key)).copy()
    mac.update(message)
    return mac.digest()


class Macs:
    """The ICE passwords of one selected pair, each prepared once
    (`prepared_mac`). A pair has two, the local and the remote one, which
    do not change (new ones come with a new pair), so a third clears the cache.

    Called with a password, returns its prepared HMAC."""

    __slots__ = ("_prepared",)

    SIZE = 2

    def __init__(self) -> None:
        self._prepared: dict[str, hmac.HMAC] = {}

    def __call__(self, password: str) -> hmac.HMAC:
        mac = self._prepared.get(password)
        if mac is None:
            if len(self._prepared) >= self.SIZE:
                self._prepared.clear()
            mac = self._prepared[password] = prepared_mac(password.encode("utf8"))
        return mac


# --- building ----------------------------------------------------------------------


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


def _fingerprint(message: bytes) -> int:
    """FINGERPRINT of `message`, up to the attribute, with a header length
    that counts it (RFC 8489 14.7)."""
    return (binascii.crc32(message) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF


def _signed(kind: int, transaction_id: bytes, body: bytes, key: Key) -> bytes:
    """Header, `body`, MESSAGE-INTEGRITY and FINGERPRINT, as aioice's
    add_message_integrity makes them."""
    # MESSAGE-INTEGRITY covers the header with a length that includes itself
    header = struct.pack("!HHI12s", kind, len(body) + 24, _COOKIE, transaction_id)
    body += _attribute(_MESSAGE_INTEGRITY, _digest(key, header + body))
    header = struct.pack("!HHI12s", kind, len(body) + 8, _COOKIE, transaction_id)
    crc = _fingerprint(header + body)
    return header + body + _attribute(_FINGERPRINT, struct.pack("!I", crc))


def _xor_mapped_address(host: str, port: int, transaction_id: bytes) -> bytes:
    host = host.partition("%")[0]  # an IPv6 scope is not sent
    if ":" in host:
        family, packed = 2, inet_pton(AF_INET6, host)
    else:
        family, packed = 1, inet_aton(host)
    # the port is XORed with the cookie's top half, the address with the cookie
    # and then the transaction id (RFC 8489 14.2)
    port_address = struct.pack("!H", port) + packed
    pad = (COOKIE_BYTES[:2] + COOKIE_BYTES + transaction_id)[: len(port_address)]
    xored = (int.from_bytes(port_address, "big") ^ int.from_bytes(pad, "big")).to_bytes(
        len(port_address), "big"
    )
    return _attribute(_XOR_MAPPED_ADDRESS, struct.pack("!BB", 0, family) + xored)


@functools.lru_cache(maxsize=4096)
def _ipv4_mapped_address(host: str, port: int) -> bytes:
    # An IPv4 address is XORed with the cookie alone, so the attribute is the
    # same for every answer to one remote.
    return _xor_mapped_address(host, port, b"")


def binding_response(transaction_id: bytes, addr: tuple[str, int], key: Key) -> bytes:
    """A binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and
    FINGERPRINT, as aioice's Connection.request_received makes it."""
    if ":" in addr[0]:
        mapped = _xor_mapped_address(addr[0], addr[1], transaction_id)
    else:
        mapped = _ipv4_mapped_address(addr[0], addr[1])
    return _signed(0x0101, transaction_id, mapped, key)


@functools.lru_cache(maxsize=4096)
def _request_body(
    username: str,
    priority: int,
    controlling: bool,
    tie_breaker: int,
    use_candidate: bool,
) -> bytes:
    return (
        _attribute(_USERNAME, username.encode("utf8"))
        + _attribute(_PRIORITY, struct.pack("!I", priority))
        + _attribute(
            _ICE_CONTROLLING if controlling else _ICE_CONTROLLED,
            struct.pack("!Q", tie_breaker),
        )
        + (_attribute(_USE_CANDIDATE, b"") if use_candidate else b"")
    )


def binding_request(
    transaction_id: bytes,
    *,
    username: str,
    priority: int,
    controlling: bool,
    tie_breaker: int,
    key: Key,
    use_candidate: bool = False,
) -> bytes:
    """An ICE binding request (RFC 8445 7.1.1) with MESSAGE-INTEGRITY and
    FINGERPRINT, as aioice's Connection.build_request would make it
    (`use_candidate`: its `nominate`, for a controlling agent)."""
    body = _request_body(
        username, priority, controlling, tie_breaker, use_candidate and controlling
    )
    return _signed(0x0001, transaction_id, body, key)


# --- reading -----------------------------------------------------------------------


class AskAioice:
    """What `scan` returns for a message outside the form it reads."""


ASK_AIOICE = AskAioice()
"""`scan`'s answer for a message only aioice's parser may judge"""

# the attributes scan checks as aioice's parser does, by aioice's names
_BY_HAND = {
    _USERNAME: "USERNAME",
    _MESSAGE_INTEGRITY: "MESSAGE-INTEGRITY",
    _XOR_MAPPED_ADDRESS: "XOR-MAPPED-ADDRESS",
    _PRIORITY: "PRIORITY",
    _USE_CANDIDATE: "USE-CANDIDATE",
    _FINGERPRINT: "FINGERPRINT",
    _ICE_CONTROLLED: "ICE-CONTROLLED",
    _ICE_CONTROLLING: "ICE-CONTROLLING",
}


@functools.lru_cache(maxsize=1)
def _aioice_attributes() -> frozenset[int]:
    from aioice import stun as aioice_stun

    return frozenset(aioice_stun.ATTRIBUTES_BY_TYPE)


def scan(data: bytes) -> tuple[dict[str, Any], int | None] | AskAioice | None:
    """Walk a STUN message as aioice's parse_message does: its attributes (by
    aioice's names) and the offset of its MESSAGE-INTEGRITY; `None` where
    aioice refuses the message; `ASK_AIOICE` where it holds something
    this does not check (an attribute aioice reads and this does not, or a
    value cut short by the datagram's end)."""
    if len(data) < 20 or len(data) != 20 + int.from_bytes(data[2:4], "big"):
        return None  # aioice: "STUN message length does not match"
    known = _aioice_attributes()
    attributes: dict[str, Any] = {}
    integrity_at: int | None = None
    pos = 20
    while pos <= len(data) - 4:
        kind, size = struct.unpack_from("!HH", data, pos)
        end = pos + 4 + size
        # aioice reads attributes up to the first MESSAGE-INTEGRITY, then
        # only FINGERPRINT; an attribute it does not know, it skips
        if kind in known and (integrity_at is None or kind == _FINGERPRINT):
            name = _BY_HAND.get(kind)
            if name is None or end > len(data):
                return ASK_AIOICE
            value: Any = data[pos + 4 : end]
            if kind == _FINGERPRINT:
                if size != 4 or int.from_bytes(value, "big") != _fingerprint(
                    data[:2] + struct.pack("!H", pos - 12) + data[4:pos]
                ):
                    return None
            elif kind == _MESSAGE_INTEGRITY:
                integrity_at = pos
                if size != 20:
                    return None  # aioice's integrity check fails
            elif kind == _USERNAME:
                try:
                    value = value.decode("utf8")
                except UnicodeDecodeError:
                    return None
            elif (
                (kind == _PRIORITY and size != 4)
                or (kind in (_ICE_CONTROLLED, _ICE_CONTROLLING) and size != 8)
                or (
                    kind == _XOR_MAPPED_ADDRESS
                    and (size < 4 or size != {1: 8, 2: 20}.get(value[1]))
                )
            ):
                return None
            attributes[name] = value
        pos = end + (-size % 4)
    return attributes, integrity_at


def _integrity_matches(data: bytes, offset: int, key: Key) -> bool:
    """Whether the 20-byte MESSAGE-INTEGRITY at `offset` is right for `key`
    (computed with a header length that ends with it, RFC 8489 14.5)."""
    header = data[:2] + struct.pack("!H", offset - 20 + 24) + data[4:20]
    expected = _digest(key, header + data[20:offset])
    return hmac.compare_digest(expected, data[offset + 4 : offset + 24])


def _read(data: bytes) -> Any:
    """aioice's own reading of a STUN message, or `None` where aioice refuses
    it."""
    from aioice import stun as aioice_stun

    try:
        return aioice_stun.parse_message(data)
    except Exception:  # ValueError, or struct.error for some bad attributes
        return None


def authenticated(
    data: bytes, password: str, mac: Callable[[str], hmac.HMAC]
) -> dict[str, Any] | None:
    """The attributes of a STUN message, by their aioice names, if aioice
    reads it and its MESSAGE-INTEGRITY is right for `password`; else
    `None`. What rtcstate takes from the network, aioice takes too.

    `mac(password)` gives the password prepared for HMAC (a `Macs`).
    The common form (the attributes ICE keepalives and their answers carry) is
    read by hand (`scan`), as strictly as aioice's parser reads it;
    anything else goes to that parser (`_read`).
    """
    scanned = scan(data)
    if isinstance(scanned, AskAioice):
        message = _read(data)
        if message is None or not message.check_message_integrity(
            password.encode("utf8")
        ):
            return None
        return message.attributes  # type: ignore[no-any-return]
    if scanned is None:
        return None
    attributes, integrity_at = scanned
    if integrity_at is None or not _integrity_matches(
        data, integrity_at, mac(password)
    ):
        return None
    return attributes
