"""Every use of an aiortc or aioice private attribute, in one place.

rtcstate needs facts aiortc's public API does not give (the remote's
end-of-candidates, the selected candidate pair and its socket), and behaviour it
cannot reach publicly (switching off the self-close, sending a keepalive on the
selected pair, ending consent). Each is read or set here and nowhere else, checked by
:func:`check` when a connection is wrapped, and covered by
``tests/test_internals.py``, so an aiortc release that renames them fails loudly
instead of silently giving wrong states. Verified with aiortc 1.16.0 and aioice
0.13.0 (the ranges pinned in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import hashlib
import hmac
import logging
import os
import socket
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

logger = logging.getLogger("rtcstate")

__all__ = [
    "InternalsChangedError",
    "SelectedPair",
    "check",
    "disable_self_close",
    "end_consent",
    "guard_connection",
    "remote_end_of_candidates",
    "restore_consent",
    "selected_pair",
    "take_over_consent",
]

# aiortc's RTCPeerConnection starts close() by itself once every DTLS transport
# is closed (a remote hang-up), guarded by `self.__closeTask is None`. A browser
# does not: its state follows the transports. A non-None value in that slot turns
# the self-close off; close() never reads the slot.
_CLOSE_TASK = "_RTCPeerConnection__closeTask"
# aiortc's RTCIceGatherer records end-of-candidates from the remote here (set by
# addRemoteCandidate(None), from addIceCandidate(None) or a=end-of-candidates).
_REMOTE_END = "_remote_candidates_end"


class InternalsChangedError(RuntimeError):
    """The installed aiortc no longer has an internal rtcstate relies on."""


class _SelfCloseDisabled:
    """Stands in aiortc's close-task slot so it never schedules its own close()."""

    def __repr__(self) -> str:
        return "<self-close disabled by rtcstate>"

    def done(self) -> bool:  # looks like a finished task to any reader
        return True


_SELF_CLOSE_DISABLED: Any = _SelfCloseDisabled()


def check(pc: RTCPeerConnection) -> None:
    """Raise :class:`InternalsChangedError` if ``pc`` lacks what rtcstate reads."""
    import aiortc

    if not hasattr(pc, _CLOSE_TASK):
        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCPeerConnection has no {_CLOSE_TASK}; "
            "rtcstate was verified with aiortc 1.16 and cannot stop the connection "
            "from closing itself on a remote hang-up"
        )


def disable_self_close(pc: RTCPeerConnection) -> None:
    """Stop aiortc from calling ``pc.close()`` when every DTLS transport closed."""
    check(pc)
    setattr(pc, _CLOSE_TASK, _SELF_CLOSE_DISABLED)


def self_close_disabled(pc: RTCPeerConnection) -> bool:
    """Whether :func:`disable_self_close` is in effect on ``pc``."""
    return getattr(pc, _CLOSE_TASK, None) is _SELF_CLOSE_DISABLED


def remote_end_of_candidates(transport: RTCIceTransport) -> bool:
    """Whether the remote signalled end-of-candidates to this ICE transport."""
    try:
        return bool(getattr(transport.iceGatherer, _REMOTE_END))
    except AttributeError:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCIceGatherer has no {_REMOTE_END}; "
            "rtcstate was verified with aiortc 1.16"
        ) from None


# --- the selected pair (aioice) -------------------------------------------------
# aioice.Connection keeps its nominated pair per component in `_nominated`; each
# CandidatePair has the StunProtocol (socket) it uses and the remote address.
# aiortc multiplexes RTP and RTCP, so component 1 is the only one.


def _connection(transport: RTCIceTransport) -> Any:
    return transport._connection


def _changed(what: str) -> InternalsChangedError:
    import aioice

    return InternalsChangedError(
        f"aioice {getattr(aioice, '__version__', '?')}: {what}; rtcstate was verified "
        "with aioice 0.13"
    )


# on_packet, on_answer, on_error
_Callbacks = tuple[Callable[[], None], Callable[[], None], Callable[[Exception], None]]


class SelectedPair:
    """The selected candidate pair of one ICE transport, for the liveness driver.

    :meth:`watch` sees every datagram the pair's socket receives from the remote
    address, before aioice handles it, and tells answers to our keepalives
    (authenticated with the session's credentials) from other packets.
    :meth:`send_keepalive` sends an ICE binding request (an RFC 7675 consent
    check) on that socket as a fire-and-forget datagram; aioice ignores the
    answer, which matches none of its own transactions.

    The remote's keepalives on this pair are answered here too, by hand, when
    aioice would do nothing but answer them (see :meth:`_answer`): that is most
    of the idle cost of a connection. Anything else goes on to aioice.

    Two routes, by the kind of local candidate (:attr:`fast`):

    * a socket of aioice's own (host, server-reflexive and peer-reflexive
      candidates): keepalives and answers are built by hand and sent on it;
    * anything else, such as a TURN allocation (relayed candidates, whichever
      way aioice reaches the TURN server): keepalives are aioice's own
      messages sent through aioice's protocol object, and the remote's
      requests are left to aioice.

    Nothing here can lose a datagram: an exception inside the tap hands the
    datagram to aioice unchanged and reports the error to ``on_error``.

    A controlling remote may nominate another pair later (libwebrtc sometimes
    moves from IPv4 to IPv6 within a second), and aioice then sends on that
    one: each keepalive first follows aioice's nominated pair, so liveness is
    always judged on the path the data takes.
    """

    #: keepalives whose answer is still accepted (older ones count as lost)
    OUTSTANDING = 64

    def __init__(self, transport: RTCIceTransport, pair: Any) -> None:
        self._connection = _connection(transport)
        self._pair = pair
        self._protocol = pair.protocol
        self.remote_addr: tuple[str, int] = (pair.remote_addr[0], pair.remote_addr[1])
        self.fast = _is_socket(pair.protocol)
        self._callbacks: _Callbacks | None = None
        from aioice.candidate import candidate_priority

        self._priority = candidate_priority(pair.component, "prflx")
        self._outstanding: OrderedDict[bytes, None] = OrderedDict()
        self._unwatch: Callable[[], None] | None = None
        self._macs: dict[str, HmacSha1] = {}

    def watch(
        self,
        on_packet: Callable[[], None],
        on_answer: Callable[[], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Call ``on_answer()`` for each answer to a keepalive, ``on_packet()``
        for each other datagram from the remote address, and ``on_error(exc)``
        when any of this raises (the datagram then goes on to aioice)."""
        self.unwatch()
        self._callbacks = (on_packet, on_answer, on_error)
        protocol = self._protocol
        original = protocol.datagram_received
        remote = self.remote_addr
        is_answer = self._is_answer
        answer = self._answer if self.fast else _never

        def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
            try:
                if (addr[0], addr[1]) == remote:
                    if is_answer(data):
                        on_answer()
                        return  # aioice would drop it: no transaction of its own
                    on_packet()
                    if answer(data):
                        return
            except Exception as exc:  # a bug of ours must not cost the datagram
                on_error(exc)
            original(data, addr)

        # asyncio's transport looks the method up on the protocol instance.
        protocol.datagram_received = datagram_received

        def unwatch() -> None:
            if protocol.__dict__.get("datagram_received") is datagram_received:
                del protocol.datagram_received

        self._unwatch = unwatch

    def unwatch(self) -> None:
        self._callbacks = None
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def _mac(self, password: str) -> HmacSha1:
        """The session's local or remote password, prepared for HMAC once (they
        do not change for a selected pair; a new one would replace both)."""
        mac = self._macs.get(password)
        if mac is None:
            if len(self._macs) >= 2:
                self._macs.clear()
            mac = self._macs[password] = HmacSha1(password.encode("utf8"))
        return mac

    def _is_answer(self, data: bytes | str) -> bool:
        """Whether ``data`` is an authenticated binding success response to one
        of our keepalives."""
        # STUN binding success response: type 0x0101, transaction id at 8:20
        if not isinstance(data, bytes) or len(data) < 20 or data[:2] != b"\x01\x01":
            return False
        transaction_id = data[8:20]
        if transaction_id not in self._outstanding:
            return False
        password = self._connection.remote_password
        if password is None or _authenticated(data, password, self._mac) is None:
            return False
        del self._outstanding[transaction_id]
        return True

    def _answer(self, data: bytes | str) -> bool:
        """Answer the remote's keepalive ``data`` as aioice's request_received
        would, and say so; ``False`` leaves the datagram to aioice.

        Only a request aioice would answer and otherwise ignore is taken: a
        binding request that aioice's parser reads, with our exact USERNAME, a
        valid MESSAGE-INTEGRITY, no role attribute that conflicts (either one
        may), and no USE-CANDIDATE unless it changes nothing
        (:meth:`_nominated_already`), on a pair that has succeeded, once the
        early checks are done. For such a request on a known, succeeded pair,
        aioice's check_incoming changes nothing.
        """
        if (
            not isinstance(data, bytes)
            or len(data) < 20
            or data[:2] != b"\x00\x01"
            or data[4:8] != _COOKIE_BYTES
        ):
            return False
        connection = self._connection
        if (
            connection._closing
            or not connection._early_checks_done
            or connection.remote_username is None
            or self._pair.state is not _SUCCEEDED
        ):
            return False
        password = connection.local_password
        attributes = _authenticated(data, password, self._mac)
        if attributes is None:
            return False  # aioice answers 400 or 401, or drops it
        controlling = connection.ice_controlling
        if (
            attributes.get("USERNAME")
            != f"{connection.local_username}:{connection.remote_username}"
            or ("ICE-CONTROLLING" in attributes and controlling)
            or ("ICE-CONTROLLED" in attributes and not controlling)
            or (
                "USE-CANDIDATE" in attributes
                and not controlling
                and not self._nominated_already()
            )
        ):
            return False
        key = self._mac(password)
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            return False
        transport.sendto(
            binding_response(data[8:20], self.remote_addr, key), self.remote_addr
        )
        return True

    def _nominated_already(self) -> bool:
        """Whether a USE-CANDIDATE on this pair would change nothing in aioice.

        A controlling remote (a browser that sent the offer) puts USE-CANDIDATE
        on every keepalive. aioice's check_incoming then marks the pair
        nominated and calls check_complete, which is a no-op when the pair is
        already the nominated, remote-nominated pair of a completed check list
        and no pair of its component is left unchecked (otherwise it removes
        those).
        """
        pair, connection = self._pair, self._connection
        component = pair.component
        return (
            pair.nominated
            and pair.remote_nominated
            and pair.task is None
            and connection._check_list_done
            and connection._nominated.get(component) is pair
            and not any(
                p.component == component and p.state in _UNCHECKED
                for p in connection._check_list
            )
        )

    def _follow_nomination(self) -> None:
        current = self._connection._nominated.get(self._pair.component)
        if current is None or current is self._pair:
            return
        callbacks = self._callbacks
        self.unwatch()
        self._pair = current
        self._protocol = current.protocol
        self.remote_addr = (current.remote_addr[0], current.remote_addr[1])
        self.fast = _is_socket(current.protocol)
        if callbacks is not None:
            self.watch(*callbacks)

    def send_keepalive(self) -> bool:
        """Send one binding request on aioice's nominated pair; ``False`` if
        the socket is gone."""
        self._follow_nomination()
        connection = self._connection
        password = connection.remote_password
        if password is None or connection._closing:
            return False
        transaction_id = os.urandom(12)
        # An ICE-lite remote never checks, so nominating is ours alone; some
        # answer only requests that carry USE-CANDIDATE (libwebrtc sends it on
        # every keepalive to one).
        nominate = connection.ice_controlling and connection.remote_is_lite
        if self.fast:
            transport = self._protocol.transport
            if transport is None or transport.is_closing():
                return False
            transport.sendto(
                binding_request(
                    transaction_id,
                    username=f"{connection.remote_username}:"
                    f"{connection.local_username}",
                    priority=self._priority,
                    controlling=connection.ice_controlling,
                    tie_breaker=connection._tie_breaker,
                    key=self._mac(password),
                    use_candidate=nominate,
                ),
                self.remote_addr,
            )
        else:
            # aioice's own request, sent the way aioice sends its consent checks
            # (minus the transaction: the answer is recognised by the tap).
            request = connection.build_request(self._pair, nominate=nominate)
            request.transaction_id = transaction_id
            request.add_message_integrity(password.encode("utf8"))
            request.add_fingerprint()
            self._protocol.send_stun(request, self.remote_addr)
        self._outstanding[transaction_id] = None
        while len(self._outstanding) > self.OUTSTANDING:
            self._outstanding.popitem(last=False)
        return True


def _read(data: bytes) -> Any:
    """aioice's own reading of a STUN message, or ``None`` where aioice refuses
    it."""
    from aioice import stun

    try:
        return stun.parse_message(data)
    except Exception:  # ValueError, or struct.error for some bad attributes
        return None


def _authenticated(
    data: bytes, password: str, mac: Callable[[str], HmacSha1]
) -> dict[str, Any] | None:
    """The attributes of a STUN message, by their aioice names, if aioice
    reads it and its MESSAGE-INTEGRITY is right for ``password``; else
    ``None``. What rtcstate takes from the network, aioice takes too.

    The common form (the attributes ICE keepalives and their answers carry) is
    read by hand, as strictly as aioice's parser reads it; anything else goes
    to that parser (:func:`_read`). aioice's parser costs about 5 us a message,
    as much as the rest of a keepalive's handling.
    """
    scan = _scan(data)
    if isinstance(scan, _AskAioice):
        message = _read(data)
        if message is None or not message.check_message_integrity(
            password.encode("utf8")
        ):
            return None
        return message.attributes  # type: ignore[no-any-return]
    if scan is None:
        return None
    attributes, integrity_at = scan
    if integrity_at is None or not _integrity_matches(
        data, integrity_at, mac(password)
    ):
        return None
    return attributes


def _is_socket(protocol: Any) -> bool:
    """Whether aioice's protocol object sends on a socket of its own: an
    asyncio transport (a TURN allocation only looks like one)."""
    return isinstance(getattr(protocol, "transport", None), asyncio.BaseTransport)


def _never(data: bytes | str) -> bool:
    return False


# --- STUN, by hand -------------------------------------------------------------
# A keepalive is sent every second per transport, and one answered, so these
# build messages without aioice's Message, which serialises a message three
# times to add MESSAGE-INTEGRITY and FINGERPRINT. tests/test_internals.py checks
# that the bytes are exactly what aioice builds. What arrives is read by hand in
# its common form, exactly as aioice reads it, and by aioice's parser otherwise
# (:func:`_authenticated`); tests/test_stun_fuzz.py holds the two together.

_COOKIE = 0x2112A442
_FINGERPRINT_XOR = 0x5354554E
_USERNAME, _PRIORITY, _MESSAGE_INTEGRITY = 0x0006, 0x0024, 0x0008
_ICE_CONTROLLED, _ICE_CONTROLLING, _FINGERPRINT = 0x8029, 0x802A, 0x8028


_COOKIE_BYTES = struct.pack("!I", _COOKIE)
_XOR_MAPPED_ADDRESS, _USE_CANDIDATE = 0x0020, 0x0025


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


class HmacSha1:
    """HMAC-SHA1 with one key, prepared once (RFC 2104: the padded key's inner
    and outer hash states). ``hmac.digest`` fetches the digest and pads the key
    again on every call, a sixth of the idle CPU in a profile; this copies two
    hash states instead."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # the block size: longer keys are hashed first
            key = hashlib.sha1(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha1(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha1(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _mac(key: bytes | HmacSha1) -> HmacSha1:
    return key if isinstance(key, HmacSha1) else HmacSha1(key)


class _AskAioice:
    """What :func:`_scan` returns for a message outside the form it reads."""


_ASK_AIOICE = _AskAioice()

# the attributes _scan checks as aioice's parser does, by aioice's names
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
    from aioice import stun

    return frozenset(stun.ATTRIBUTES_BY_TYPE)


def _scan(data: bytes) -> tuple[dict[str, Any], int | None] | _AskAioice | None:
    """Walk a STUN message as aioice's parse_message does: its attributes (by
    aioice's names) and the offset of its MESSAGE-INTEGRITY; ``None`` where
    aioice refuses the message; :data:`_ASK_AIOICE` where it holds something
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
                return _ASK_AIOICE
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


def _fingerprint(message: bytes) -> int:
    """FINGERPRINT of ``message``, up to the attribute, with a header length
    that counts it (RFC 8489 14.7)."""
    return (binascii.crc32(message) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF


def _integrity_matches(data: bytes, offset: int, key: bytes | HmacSha1) -> bool:
    """Whether the 20-byte MESSAGE-INTEGRITY at ``offset`` is right for ``key``
    (computed with a header length that ends with it, RFC 8489 14.5)."""
    header = data[:2] + struct.pack("!H", offset - 20 + 24) + data[4:20]
    expected = _mac(key).digest(header + data[20:offset])
    return hmac.compare_digest(expected, data[offset + 4 : offset + 24])


def _signed(
    kind: int, transaction_id: bytes, body: bytes, key: bytes | HmacSha1
) -> bytes:
    """Header, ``body``, MESSAGE-INTEGRITY and FINGERPRINT, as aioice's
    add_message_integrity makes them."""
    # MESSAGE-INTEGRITY covers the header with a length that includes itself
    header = struct.pack("!HHI12s", kind, len(body) + 24, _COOKIE, transaction_id)
    body += _attribute(_MESSAGE_INTEGRITY, _mac(key).digest(header + body))
    header = struct.pack("!HHI12s", kind, len(body) + 8, _COOKIE, transaction_id)
    crc = _fingerprint(header + body)
    return header + body + _attribute(_FINGERPRINT, struct.pack("!I", crc))


def _xor_mapped_address(host: str, port: int, transaction_id: bytes) -> bytes:
    host = host.partition("%")[0]  # an IPv6 scope is not sent
    if ":" in host:
        family, packed = 2, socket.inet_pton(socket.AF_INET6, host)
    else:
        family, packed = 1, socket.inet_aton(host)
    # the port is XORed with the cookie's top half, the address with the cookie
    # and then the transaction id (RFC 8489 14.2)
    port_address = struct.pack("!H", port) + packed
    pad = (_COOKIE_BYTES[:2] + _COOKIE_BYTES + transaction_id)[: len(port_address)]
    xored = (int.from_bytes(port_address, "big") ^ int.from_bytes(pad, "big")).to_bytes(
        len(port_address), "big"
    )
    return _attribute(_XOR_MAPPED_ADDRESS, struct.pack("!BB", 0, family) + xored)


def binding_response(
    transaction_id: bytes, addr: tuple[str, int], key: bytes | HmacSha1
) -> bytes:
    """A binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and
    FINGERPRINT, as aioice's Connection.request_received makes it."""
    if ":" in addr[0]:
        mapped = _xor_mapped_address(addr[0], addr[1], transaction_id)
    else:
        mapped = _ipv4_mapped_address(addr[0], addr[1])
    return _signed(0x0101, transaction_id, mapped, key)


@functools.lru_cache(maxsize=4096)
def _ipv4_mapped_address(host: str, port: int) -> bytes:
    # An IPv4 address is XORed with the cookie alone, so the attribute is the
    # same for every answer to one remote.
    return _xor_mapped_address(host, port, b"")


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
    key: bytes | HmacSha1,
    use_candidate: bool = False,
) -> bytes:
    """An ICE binding request (RFC 8445 7.1.1) with MESSAGE-INTEGRITY and
    FINGERPRINT, as aioice's Connection.build_request would make it
    (``use_candidate``: its ``nominate``, for a controlling agent)."""
    body = _request_body(
        username, priority, controlling, tie_breaker, use_candidate and controlling
    )
    return _signed(0x0001, transaction_id, body, key)


def _pair_states() -> tuple[Any, frozenset[Any]]:
    from aioice.ice import CandidatePair

    try:
        states = CandidatePair.State
        return states.SUCCEEDED, frozenset({states.WAITING, states.FROZEN})
    except AttributeError:
        raise _changed(
            "CandidatePair.State lacks SUCCEEDED / WAITING / FROZEN"
        ) from None


# a pair that has succeeded; pairs not checked yet
_SUCCEEDED, _UNCHECKED = _pair_states()


def selected_pair(transport: RTCIceTransport) -> SelectedPair | None:
    """The transport's nominated pair, or ``None`` while there is none."""
    try:
        nominated = _connection(transport)._nominated
    except AttributeError:
        raise _changed("Connection has no _nominated") from None
    pair = nominated.get(1)
    if pair is None:
        return None
    names = [
        "protocol",
        "remote_addr",
        "state",
        "component",
        "nominated",
        "remote_nominated",
        "task",
    ]
    if not all(hasattr(pair, name) for name in names):
        raise _changed("CandidatePair lacks one of: " + ", ".join(names))
    return SelectedPair(transport, pair)


def guard_connection(transport: RTCIceTransport, loopback: str = "auto") -> None:
    """Make aioice's connection safe to close at any moment, and able to use
    loopback. Idempotent (the first call's ``loopback`` stays).

    Two races in aioice 0.13 leak on a ``close()`` at the wrong time:

    * its consent task starts when ``connect()`` returns; if ``close()`` ran
      while the check list was completing, the task starts after the close and
      runs forever;
    * a gathering adds its sockets to the connection only when it ends, so a
      ``close()`` before or during the gathering never closes them.

    The instance's ``query_consent`` and ``gather_candidates`` are wrapped: the
    first returns at once on a closing connection, the second does not start
    on one and closes the connection again (aioice's close is safe to repeat)
    if it was closed meanwhile.

    aioice never gathers loopback addresses, so on a host whose only interface
    is loopback it has no candidate and never connects. The gathering wrapper
    adds a 127.0.0.1 host candidate: with ``loopback="auto"`` when nothing else
    was gathered, with ``"always"`` in any case, never with ``"never"``, and
    never under the relay-only policy (``iceTransportPolicy="relay"``).
    """
    connection = _connection(transport)
    consent = getattr(connection, "query_consent", None)
    gather = getattr(connection, "gather_candidates", None)
    missing = [
        name
        for name in (
            "_closing",
            "_tie_breaker",
            "_local_candidates",
            "_components",
            "_early_checks_done",
            "local_password",
            "_check_list",
            "_check_list_done",
            "remote_is_lite",
            "_transport_policy",
        )
        if not hasattr(connection, name)
    ]
    if consent is None or gather is None or missing:
        raise _changed(
            "Connection lacks query_consent / gather_candidates or "
            + ", ".join(missing or ["-"])
        )
    if getattr(consent, "_rtcstate_guard", False):
        return

    async def query_consent() -> None:
        if not connection._closing:
            await consent()

    from aioice.ice import TransportPolicy

    relay_only = connection._transport_policy == TransportPolicy.RELAY

    async def gather_candidates() -> None:
        if connection._closing:
            return
        await gather()
        if connection._closing:
            await connection.close()
            return
        if relay_only:
            return  # iceTransportPolicy "relay": never a host candidate
        if loopback == "always" or (
            loopback == "auto" and not connection._local_candidates
        ):
            try:
                for component in sorted(connection._components):
                    connection._local_candidates += (
                        await connection.get_component_candidates(
                            component=component, addresses=["127.0.0.1"]
                        )
                    )
            except Exception:  # an extra candidate is not worth a failed gathering
                logger.warning("no 127.0.0.1 candidate", exc_info=True)

    query_consent._rtcstate_guard = True  # type: ignore[attr-defined]
    connection.query_consent = query_consent
    connection.gather_candidates = gather_candidates


def take_over_consent(transport: RTCIceTransport) -> None:
    """Stop aioice's own consent checks (one every 5 s, giving up after ~30 s):
    the liveness monitor's keepalives are the consent checks from now on, so the
    two do not add up on the wire."""
    connection = _connection(transport)
    if not hasattr(connection, "_query_consent_task"):
        raise _changed("Connection has no _query_consent_task")
    task = connection._query_consent_task
    if task is not None and not task.done():
        task.cancel()
    connection._query_consent_task = None


def restore_consent(transport: RTCIceTransport) -> None:
    """Undo :func:`take_over_consent`: aioice checks consent itself again (as
    with ``liveness=None``), unless it is closing or already does."""
    connection = _connection(transport)
    task = getattr(connection, "_query_consent_task", None)
    if connection._closing or connection.remote_password is None:
        return
    if task is None or task.done():
        connection._query_consent_task = asyncio.ensure_future(
            connection.query_consent()
        )


def end_consent(transport: RTCIceTransport) -> asyncio.Future[None]:
    """Consent expired (RFC 7675): stop sending to the remote.

    Closes aioice's connection, as aioice itself does when its own consent checks
    fail: every socket of the transport closes, and aiortc's RTCIceTransport
    reports "failed" (not "closed", which only ``stop()`` gives).
    """
    future: asyncio.Future[None] = asyncio.ensure_future(_connection(transport).close())
    return future
