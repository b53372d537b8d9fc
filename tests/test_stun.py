"""Unit tests of rtcstate's STUN codec (src/rtcstate/stun.py), on plain bytes.

aioice's own ``stun`` module (its Message, parse_message and integrity check) is
the reference: what rtcstate builds, aioice reads back alike, and what rtcstate
reads by hand, it reads as aioice does. ``tests/test_stun_fuzz.py`` does the
same on random and mutated messages, through the selected pair's tap.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Any

import aioice.stun as aioice_stun
import pytest

from rtcstate import _stun as stun

PASSWORD = "remotePassword012345678"
TID = b"transaction1"
USERNAME = "remt:locl"
PRIORITY = 1853824767
TIE_BREAKER = 0x0123456789ABCDEF

_SOFTWARE, _MI, _FP, _XOR_MAPPED = 0x8022, 0x0008, 0x8028, 0x0020


def _request(
    *,
    controlling: bool = True,
    use_candidate: bool = False,
    password: str = PASSWORD,
    key: stun.Key | None = None,
) -> bytes:
    return stun.binding_request(
        TID,
        username=USERNAME,
        priority=PRIORITY,
        controlling=controlling,
        tie_breaker=TIE_BREAKER,
        key=password.encode() if key is None else key,
        use_candidate=use_candidate,
    )


def _aioice_request(controlling: bool, use_candidate: bool, password: str) -> bytes:
    """The same request as aioice's Connection.build_request and
    add_message_integrity make it, with aioice's Message alone."""
    message = aioice_stun.Message(
        aioice_stun.Method.BINDING, aioice_stun.Class.REQUEST, TID
    )
    message.attributes["USERNAME"] = USERNAME
    message.attributes["PRIORITY"] = PRIORITY
    if controlling:
        message.attributes["ICE-CONTROLLING"] = TIE_BREAKER
        if use_candidate:
            message.attributes["USE-CANDIDATE"] = None
    else:
        message.attributes["ICE-CONTROLLED"] = TIE_BREAKER
    message.add_message_integrity(password.encode())
    return bytes(message)


def _aioice_response(tid: bytes, addr: tuple[str, int], password: bytes) -> bytes:
    """A binding success response as aioice's Connection.request_received
    makes it."""
    response = aioice_stun.Message(
        message_method=aioice_stun.Method.BINDING,
        message_class=aioice_stun.Class.RESPONSE,
        transaction_id=tid,
    )
    response.attributes["XOR-MAPPED-ADDRESS"] = addr
    response.add_message_integrity(password)
    return bytes(response)


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


def _signed_with_aioice(kind: int, body: bytes, password: str) -> bytes:
    """``body`` in a message signed and fingerprinted with aioice's functions."""
    data = struct.pack("!HHI12s", kind, len(body), aioice_stun.COOKIE, TID) + body
    mac = aioice_stun.message_integrity(data, password.encode())
    data += _attr(_MI, mac)
    data = data[:2] + struct.pack("!H", len(data) - 20) + data[4:]
    crc = aioice_stun.message_fingerprint(data)
    data += _attr(_FP, struct.pack("!I", crc))
    return data[:2] + struct.pack("!H", len(data) - 20) + data[4:]


def _aioice_takes(data: bytes, password: str = PASSWORD) -> bool:
    """Whether aioice parses ``data`` (fingerprint included) and its
    MESSAGE-INTEGRITY is right for ``password``."""
    try:
        message = aioice_stun.parse_message(data)
    except Exception:  # ValueError, or struct.error for some attributes
        return False
    return message.check_message_integrity(password.encode())


def _flip(data: bytes, bit: int) -> bytes:
    i = bit // 8
    return data[:i] + bytes([data[i] ^ (1 << bit % 8)]) + data[i + 1 :]


# --- building ------------------------------------------------------------------------


ROLES = pytest.mark.parametrize(
    ("controlling", "use_candidate"),
    [(True, False), (True, True), (False, False), (False, True)],
)


@ROLES
def test_a_binding_request_reads_back_in_aioice_with_its_attributes(
    controlling: bool, use_candidate: bool
) -> None:
    data = _request(controlling=controlling, use_candidate=use_candidate)
    message = aioice_stun.parse_message(data)  # checks the FINGERPRINT
    assert message.message_method == aioice_stun.Method.BINDING
    assert message.message_class == aioice_stun.Class.REQUEST
    assert message.transaction_id == TID
    role = "ICE-CONTROLLING" if controlling else "ICE-CONTROLLED"
    nominates = controlling and use_candidate  # a controlled agent never nominates
    assert list(message.attributes) == [
        "USERNAME",
        "PRIORITY",
        role,
        *(["USE-CANDIDATE"] if nominates else []),
        "MESSAGE-INTEGRITY",
        "FINGERPRINT",
    ]
    assert message.attributes["USERNAME"] == USERNAME
    assert message.attributes["PRIORITY"] == PRIORITY
    assert message.attributes[role] == TIE_BREAKER
    assert message.check_message_integrity(PASSWORD.encode())
    assert not message.check_message_integrity(b"wrongPassword0123456789")


@ROLES
@pytest.mark.parametrize("password", [PASSWORD, "p" * 100])
def test_a_binding_request_is_byte_for_byte_aioices_message(
    controlling: bool, use_candidate: bool, password: str
) -> None:
    ours = _request(
        controlling=controlling, use_candidate=use_candidate, password=password
    )
    assert ours == _aioice_request(controlling, use_candidate, password)
    # a prepared key signs alike
    prepared = stun.prepared_mac(password.encode())
    assert ours == _request(
        controlling=controlling, use_candidate=use_candidate, key=prepared
    )


@pytest.mark.parametrize(
    "addr",
    [
        ("127.0.0.1", 5000),
        ("192.168.1.20", 65535),
        ("::1", 40000),
        ("2001:db8::1:2", 1),
        ("fe80::1%eth0", 5),  # the scope is not sent, by either
    ],
)
@pytest.mark.parametrize("tid", [bytes(range(12)), b"\xff" * 12])
def test_hand_built_answer_is_byte_for_byte_what_aioice_builds(
    addr: tuple[str, int], tid: bytes
) -> None:
    # two transaction ids: an IPv6 address is XORed with it, an IPv4 one is
    # not (and its attribute is cached across answers)
    ours = stun.binding_response(tid, addr, b"localpassword")
    assert ours == _aioice_response(tid, addr, b"localpassword")
    message = aioice_stun.parse_message(ours)
    assert message.message_class == aioice_stun.Class.RESPONSE
    assert message.attributes["XOR-MAPPED-ADDRESS"] == (addr[0].split("%")[0], addr[1])
    assert message.check_message_integrity(b"localpassword")


# --- reading -------------------------------------------------------------------------


def _common_messages() -> dict[str, bytes]:
    """A keepalive and an answer in the form read by hand."""
    return {
        "keepalive": _request(),
        "nominating keepalive": _request(use_candidate=True),
        "answer": stun.binding_response(TID, ("192.0.2.1", 50000), PASSWORD.encode()),
        "answer, IPv6": stun.binding_response(TID, ("::1", 9), PASSWORD.encode()),
    }


COMMON = pytest.mark.parametrize("name", list(_common_messages()))


@COMMON
def test_a_correctly_signed_message_is_read_by_hand_as_aioice_reads_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _common_messages()[name]
    asked: list[bytes] = []
    monkeypatch.setattr(stun, "_read", lambda data: asked.append(data))
    scanned = stun.scan(data)
    assert isinstance(scanned, tuple)
    attributes, integrity_at = scanned
    theirs = aioice_stun.parse_message(data)
    assert list(attributes) == list(theirs.attributes)
    assert integrity_at == len(data) - 8 - 24  # MESSAGE-INTEGRITY, then FINGERPRINT
    assert attributes["MESSAGE-INTEGRITY"] == theirs.attributes["MESSAGE-INTEGRITY"]
    if "USERNAME" in attributes:
        assert attributes["USERNAME"] == theirs.attributes["USERNAME"] == USERNAME
    assert stun.authenticated(data, PASSWORD, stun.Macs()) == attributes
    assert asked == []  # read by hand: aioice's parser never asked


@COMMON
def test_one_flipped_bit_in_what_is_signed_is_refused(name: str) -> None:
    data = _common_messages()[name]
    signed_end = len(data) - 8  # the header, the body and MESSAGE-INTEGRITY
    macs = stun.Macs()
    for bit in range(signed_end * 8):
        flipped = _flip(data, bit)
        assert stun.authenticated(flipped, PASSWORD, macs) is None, bit
        assert not _aioice_takes(flipped), bit  # aioice refuses it too


@COMMON
def test_a_wrong_password_is_refused(name: str) -> None:
    data = _common_messages()[name]
    assert stun.authenticated(data, PASSWORD, stun.Macs()) is not None
    for wrong in ("wrongPassword0123456789", PASSWORD[:-1], PASSWORD + "x", ""):
        assert stun.authenticated(data, wrong, stun.Macs()) is None
        assert not _aioice_takes(data, wrong)


@COMMON
def test_a_wrong_fingerprint_is_refused(name: str) -> None:
    data = _common_messages()[name]
    for bit in (0, 17, 31):  # in the FINGERPRINT's value, the message's last word
        flipped = _flip(data, (len(data) - 4) * 8 + bit)
        assert stun.scan(flipped) is None
        assert stun.authenticated(flipped, PASSWORD, stun.Macs()) is None
        assert not _aioice_takes(flipped)


@COMMON
def test_a_truncated_message_is_refused(name: str) -> None:
    data = _common_messages()[name]
    for size in (0, 1, 2, 4, 19, 20, 21, len(data) - 4, len(data) - 1):
        assert stun.scan(data[:size]) is None, size
        assert stun.authenticated(data[:size], PASSWORD, stun.Macs()) is None, size
        assert not _aioice_takes(data[:size]), size


@COMMON
def test_a_header_length_that_does_not_match_the_datagram_is_refused(
    name: str,
) -> None:
    data = _common_messages()[name]
    length = len(data) - 20
    for wrong in (length - 4, length + 4, 0, 0xFFFF):
        changed = data[:2] + struct.pack("!H", wrong) + data[4:]
        assert stun.scan(changed) is None, wrong
        assert not _aioice_takes(changed), wrong
    appended = data + bytes(4)  # the datagram runs past the message
    assert stun.scan(appended) is None
    assert not _aioice_takes(appended)


def test_an_attribute_not_read_by_hand_defers_to_aioice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SOFTWARE: aioice reads it, the hand reader does not
    body = _attr(_SOFTWARE, b"peer/1.0") + _attr(
        _XOR_MAPPED, aioice_stun.pack_xor_address(("192.0.2.1", 50000), TID)
    )
    data = _signed_with_aioice(0x0101, body, PASSWORD)
    assert stun.scan(data) is stun.ASK_AIOICE
    read = stun._read
    asked: list[bytes] = []

    def spy(data: bytes) -> Any:
        asked.append(data)
        return read(data)

    monkeypatch.setattr(stun, "_read", spy)
    attributes = stun.authenticated(data, PASSWORD, stun.Macs())
    assert asked == [data]
    assert attributes is not None
    assert attributes["SOFTWARE"] == "peer/1.0"  # aioice's reading, with its types
    assert attributes["XOR-MAPPED-ADDRESS"] == ("192.0.2.1", 50000)
    # and aioice's integrity check, with the password
    assert stun.authenticated(data, "wrongPassword0123456789", stun.Macs()) is None
    assert len(asked) == 2


def test_a_value_cut_short_by_the_datagram_defers_to_aioice() -> None:
    # the last attribute's length runs past the datagram's end (so there is no
    # MESSAGE-INTEGRITY after it): aioice reads what there is, or raises
    def message(body: bytes) -> bytes:
        header = struct.pack("!HHI12s", 0x0001, len(body), aioice_stun.COOKIE, TID)
        return header + body

    whole = _attr(0x0006, USERNAME.encode()) + _attr(0x0024, bytes(4))
    assert stun.scan(message(whole)) == (
        {"USERNAME": USERNAME, "PRIORITY": bytes(4)},
        None,
    )
    cut = message(whole[:-2])  # PRIORITY, 2 of its 4 bytes
    assert stun.scan(cut) is stun.ASK_AIOICE
    assert stun.authenticated(cut, PASSWORD, stun.Macs()) is None
    assert not _aioice_takes(cut)


def test_an_attribute_aioice_does_not_know_is_skipped_by_hand() -> None:
    # an unknown attribute stays in the hand reader's form; aioice skips it too
    body = _attr(0x0006, USERNAME.encode()) + _attr(0x7FFF, b"new!")
    data = _signed_with_aioice(0x0001, body, PASSWORD)
    scanned = stun.scan(data)
    assert isinstance(scanned, tuple)
    assert list(scanned[0]) == list(aioice_stun.parse_message(data).attributes)
    assert stun.authenticated(data, PASSWORD, stun.Macs()) is not None


def test_what_follows_message_integrity_is_not_read_but_fingerprint() -> None:
    data = _request()
    after = _attr(0x0024, b"\x00\x00\x00\x07")  # a PRIORITY after the signature
    mi_end = len(data) - 8
    moved = data[:mi_end] + after + data[mi_end:]
    moved = moved[:2] + struct.pack("!H", len(moved) - 20) + moved[4:]
    # the FINGERPRINT is now wrong (it covers the PRIORITY); make it right
    crc = aioice_stun.message_fingerprint(moved[:-8])
    moved = moved[:-4] + struct.pack("!I", crc)
    scanned = stun.scan(moved)
    assert isinstance(scanned, tuple)
    assert scanned[0]["PRIORITY"] == struct.pack("!I", PRIORITY)  # the signed one
    assert aioice_stun.parse_message(moved).attributes["PRIORITY"] == PRIORITY
    assert stun.authenticated(moved, PASSWORD, stun.Macs()) is not None


# --- HMAC-SHA1 -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 22, 64, 65, 200])
def test_prepared_hmac_agrees_with_the_standard_library(size: int) -> None:
    key = bytes(range(size % 256)) * (size // 256 + 1)
    key = key[:size]
    mac = stun.prepared_mac(key)
    for message in (b"", b"x" * 20, bytes(range(256)) * 3, b"", b"x" * 20):
        # (again: the prepared state is copied, never consumed)
        assert stun._digest(mac, message) == hmac.new(key, message, "sha1").digest()
    assert stun._digest(key, b"x" * 20) == hmac.digest(key, b"x" * 20, hashlib.sha1)


def test_a_password_is_prepared_once_and_copied_for_each_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepared: list[bytes] = []
    new = hmac.new

    def counting_new(key: bytes, *args: Any, **kwargs: Any) -> hmac.HMAC:
        prepared.append(key)
        return new(key, *args, **kwargs)

    messages = _common_messages()
    monkeypatch.setattr(hmac, "new", counting_new)
    macs = stun.Macs()
    mac = macs(PASSWORD)
    assert prepared == [PASSWORD.encode()]
    assert macs(PASSWORD) is mac
    for _ in range(10):
        for data in messages.values():
            assert stun.authenticated(data, PASSWORD, macs) is not None
        assert _request(key=macs(PASSWORD)) == messages["keepalive"]
        answer = stun.binding_response(TID, ("192.0.2.1", 50000), macs(PASSWORD))
        assert answer == messages["answer"]
    assert prepared == [PASSWORD.encode()]  # no key schedule per message
    # a selected pair's two passwords are kept; a third starts afresh
    macs("localPassword0123456789")
    assert macs(PASSWORD) is mac
    assert len(prepared) == 2
    macs("aThirdPassword012345678")
    assert macs(PASSWORD) is not mac
    assert len(prepared) == 4
