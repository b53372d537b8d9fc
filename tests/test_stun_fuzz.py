"""Fuzz tests of rtcstate's hand-written STUN (src/rtcstate/stun.py, used by
the selected pair's tap in src/rtcstate/tap.py), with aioice as the oracle.

rtcstate reads the answers to its keepalives (``SelectedPair._is_answer``) and
answers the remote's keepalives by hand (``SelectedPair._answer``), before
aioice sees them. What aioice refuses, rtcstate must refuse too. The reverse
need not hold: whatever rtcstate leaves alone goes on to aioice. Whatever
rtcstate answers, aioice must answer with the same bytes and change nothing
else. The inputs are random bytes, messages signed with aioice's own
functions, and those messages mutated. The differences the fuzzing found are
kept at the end as regression tests.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import string
import struct
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import aioice.ice
import aioice.stun as stun
import pytest
from aioice.candidate import Candidate
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rtcstate import _tap as tap

LOCAL_UFRAG, LOCAL_PWD = "locl", "localPassword0123456789"
REMOTE_UFRAG, REMOTE_PWD = "remt", "remotePassword012345678"
#: the USERNAME of the remote's checks: our ufrag first
CHECK_USERNAME = f"{LOCAL_UFRAG}:{REMOTE_UFRAG}"
#: the transaction id of the one keepalive of ours awaiting its answer
TID = b"keepalive-01"
ADDRESSES = [("127.0.0.2", 7), ("::1", 5000)]

_MI, _FP, _USERNAME, _PRIORITY = 0x0008, 0x8028, 0x0006, 0x0024
_USE_CANDIDATE, _XOR_MAPPED, _SOFTWARE = 0x0025, 0x0020, 0x8022
_CONTROLLED, _CONTROLLING = 0x8029, 0x802A
_REQUEST, _RESPONSE = 0x0001, 0x0101
_KNOWN = sorted(stun.ATTRIBUTES_BY_TYPE)


# --- a selected pair without sockets ----------------------------------------------


class _Socket(asyncio.DatagramTransport):
    """Records what is sent. A real DatagramTransport subclass: rtcstate
    answers by hand only on aioice's own sockets."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, Any]] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append((bytes(data), addr))

    def is_closing(self) -> bool:
        return False


class _Connection(aioice.ice.Connection):
    """aioice's Connection, recording in ``events`` what would leave it (a
    check task, a datagram handed to the application)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: list[str] = []

    def check_start_task(self, pair: aioice.ice.CandidatePair) -> None:
        self.events.append("check started")  # aioice needs a running loop here

    def data_received(self, data: bytes, component: int) -> None:
        self.events.append("data")


@dataclass(frozen=True)
class State:
    """The connection a datagram arrives on (the default: connected, with a
    nominated pair, where rtcstate may answer)."""

    controlling: bool = True
    remote: tuple[str, int] = ADDRESSES[0]
    pair_state: str = "SUCCEEDED"
    nominated: bool = True  # the pair, by both sides
    check_list_done: bool = True
    unchecked_pair: bool = False  # another pair of the component still frozen
    early_checks_done: bool = True
    closing: bool = False
    local_password: str = LOCAL_PWD
    remote_password: str = REMOTE_PWD


@dataclass
class Rig:
    connection: _Connection
    protocol: aioice.ice.StunProtocol
    socket: _Socket
    selected: tap.SelectedPair


def _rig(state: State) -> Rig:
    connection = _Connection(
        ice_controlling=state.controlling,
        local_username=LOCAL_UFRAG,
        local_password=state.local_password,
    )
    connection.remote_username = REMOTE_UFRAG
    connection.remote_password = state.remote_password
    connection._tie_breaker = 2**63  # fixed, so two rigs resolve conflicts alike
    protocol = aioice.ice.StunProtocol.__new__(aioice.ice.StunProtocol)  # no loop
    protocol.id, protocol.receiver, protocol.transactions = 0, connection, {}
    protocol.local_candidate = Candidate("l", 1, "udp", 2, "127.0.0.1", 9, "host")
    protocol.transport = socket = _Socket()
    remote = Candidate("r", 1, "udp", 1, state.remote[0], state.remote[1], "host")
    pair = aioice.ice.CandidatePair(protocol, remote)
    pair.state = aioice.ice.CandidatePair.State[state.pair_state]
    pair.nominated = pair.remote_nominated = state.nominated
    connection._remote_candidates = [remote]
    connection._check_list = [pair]
    if state.unchecked_pair:
        other = Candidate("o", 1, "udp", 1, "127.0.0.3", 8, "host")
        connection._remote_candidates.append(other)
        connection._check_list.append(aioice.ice.CandidatePair(protocol, other))
    connection._nominated = {1: pair} if state.nominated else {}
    connection._check_list_done = state.check_list_done
    connection._early_checks_done = state.early_checks_done
    connection._closing = state.closing
    # SelectedPair reads nothing of aiortc's RTCIceTransport but _connection
    selected = tap.SelectedPair(SimpleNamespace(_connection=connection), pair)
    selected._outstanding[TID] = 0.0
    return Rig(connection, protocol, socket, selected)


# --- the oracle: aioice itself ----------------------------------------------------


_CONTAINERS = (list, dict, set, collections.deque)


def _snapshot(connection: _Connection) -> Any:
    """What aioice may change on a datagram: the connection's fields (its
    containers copied: the early checks are a deque), its pairs' fields and
    its queues' lengths."""
    fields = {
        name: copy.copy(value) if isinstance(value, _CONTAINERS) else value
        for name, value in vars(connection).items()
    }
    pairs = [dict(vars(pair)) for pair in connection._check_list]
    queues = (connection._queue.qsize(), connection._check_list_state.qsize())
    return fields, pairs, queues


def _aioice_just_answers(data: bytes | str, state: State) -> list[Any] | None:
    """What aioice sends when ``data`` arrives on the pair, if sending is all
    it does (``None`` if it raises or changes anything)."""
    rig = _rig(state)
    before = _snapshot(rig.connection)
    try:
        rig.protocol.datagram_received(data, state.remote)  # type: ignore[arg-type]
    except Exception:  # parse_message raises struct.error on some attributes
        return None
    return rig.socket.sent if _snapshot(rig.connection) == before else None


def _aioice_accepts_answer(data: bytes | str, password: str = REMOTE_PWD) -> bool:
    """Whether aioice takes ``data`` as the success response to our keepalive,
    authenticated with the remote's password (as Transaction.response_received
    does with an integrity key)."""
    try:
        message = stun.parse_message(data)  # type: ignore[arg-type]
    except Exception:  # ValueError, or struct.error for some attributes
        return False
    return (
        message.message_class == stun.Class.RESPONSE
        and message.message_method == stun.Method.BINDING
        and message.transaction_id == TID
        and message.check_message_integrity(password.encode())
    )


def _attributes(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, type, value) of each attribute, walked the way aioice does."""
    found, pos = [], 20
    while pos <= len(data) - 4:
        kind, size = struct.unpack_from("!HH", data, pos)
        found.append((pos, kind, data[pos + 4 : pos + 4 + size]))
        pos += 4 + size + (-size % 4)
    return found


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


def _set_length(data: bytes, length: int | None = None) -> bytes:
    """``data`` with the header's length (by default, of all that follows)."""
    length = len(data) - 20 if length is None else length
    return data[:2] + struct.pack("!H", length) + data[4:]


def _sign(
    kind: int,
    tid: bytes,
    body: bytes,
    key: str | None,
    *,
    fingerprint: bool = True,
    unsigned: bytes = b"",
) -> bytes:
    """A message with aioice's MESSAGE-INTEGRITY (none if ``key`` is ``None``)
    and FINGERPRINT; ``unsigned`` goes between the two."""
    data = struct.pack("!HHI12s", kind, len(body), stun.COOKIE, tid) + body
    if key is not None:
        mac = stun.message_integrity(data, key.encode())
        data = _set_length(data + _attr(_MI, mac))
    data = _set_length(data + unsigned)
    if fingerprint:
        crc = struct.pack("!I", stun.message_fingerprint(data))
        data = _set_length(data + _attr(_FP, crc))
    return data


def _remote_check(
    we_control: bool, nominate: bool, tid: bytes, tie_breaker: int, password: str
) -> bytes:
    """A check as the remote's aioice sends it: build_request, then the
    add_message_integrity of StunProtocol.request."""
    remote = aioice.ice.Connection(
        ice_controlling=not we_control,
        local_username=REMOTE_UFRAG,
        local_password=REMOTE_PWD,
    )
    remote.remote_username, remote.remote_password = LOCAL_UFRAG, password
    remote._tie_breaker = tie_breaker
    pair = SimpleNamespace(component=1)
    request = remote.build_request(pair, nominate=nominate)  # type: ignore[arg-type]
    request.transaction_id = tid
    request.add_message_integrity(password.encode())
    return bytes(request)


def _aioice_response(
    addr: tuple[str, int], password: str, *, software: bool, fingerprint: bool
) -> bytes:
    """Our keepalive's answer as an aioice remote builds it (request_received)."""
    response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, TID)
    if software:
        response.attributes["SOFTWARE"] = "aioice"
    response.attributes["XOR-MAPPED-ADDRESS"] = addr
    response.add_message_integrity(password.encode())
    if not fingerprint:
        response.attributes.pop("FINGERPRINT")
    return bytes(response)


# --- strategies -------------------------------------------------------------------

passwords = st.text(
    string.ascii_letters + string.digits + "+/", min_size=22, max_size=256
)
tids = st.one_of(st.just(TID), st.binary(min_size=12, max_size=12))
unknown_types = st.integers(0, 0xFFFF).filter(lambda t: t not in _KNOWN)
#: types a receiver must understand (RFC 8489 14): aioice knows none of these
unknown_required = st.integers(0, 0x7FFF).filter(lambda t: t not in _KNOWN)

attributes = st.one_of(
    st.sampled_from(
        [CHECK_USERNAME, f"{REMOTE_UFRAG}:{LOCAL_UFRAG}", LOCAL_UFRAG, "locl:x", ""]
    ).map(lambda u: _attr(_USERNAME, u.encode())),
    st.binary(max_size=9).map(lambda v: _attr(_USERNAME, v)),  # bad UTF-8 too
    st.integers(0, 2**32 - 1).map(lambda p: _attr(_PRIORITY, struct.pack("!I", p))),
    st.tuples(
        st.sampled_from([_CONTROLLING, _CONTROLLED]), st.integers(0, 2**64 - 1)
    ).map(lambda t: _attr(t[0], struct.pack("!Q", t[1]))),
    st.just(_attr(_USE_CANDIDATE, b"")),
    st.text(max_size=8).map(lambda s: _attr(_SOFTWARE, s.encode())),
    st.tuples(unknown_types | unknown_required, st.binary(max_size=9)).map(
        lambda t: _attr(*t)
    ),
    # a known type with any value: often one aioice cannot unpack
    st.tuples(st.sampled_from(_KNOWN), st.binary(max_size=9)).map(lambda t: _attr(*t)),
)
keys = st.sampled_from([LOCAL_PWD, REMOTE_PWD, None, "wrongPassword0123456789"])
#: binding request, success and error responses, indication, anything
kinds = st.one_of(
    st.sampled_from([_REQUEST, _RESPONSE, 0x0111, 0x0011]), st.integers(0, 0xFFFF)
)
#: mostly ours
usernames = st.sampled_from(
    [CHECK_USERNAME] * 3 + [f"{REMOTE_UFRAG}:{LOCAL_UFRAG}", "locl:remtx", LOCAL_UFRAG]
)


@st.composite
def requests(draw: st.DrawFn, we_control: bool | None = None) -> bytes:
    """A check from the remote, mostly well-formed (and mostly in the role
    that fits ``we_control``), with extra attributes (also unknown
    comprehension-required ones) signed or not."""
    roles = [_CONTROLLING, _CONTROLLED]
    if we_control is not None:
        roles.insert(0, _CONTROLLED if we_control else _CONTROLLING)
    body = [
        _attr(_USERNAME, draw(usernames).encode()),
        _attr(_PRIORITY, struct.pack("!I", draw(st.integers(0, 2**32 - 1)))),
        _attr(draw(st.sampled_from(roles)), bytes(8)),
    ]
    if draw(st.booleans()):
        body.append(_attr(_USE_CANDIDATE, b""))
    for extra in draw(st.lists(attributes, max_size=3)):
        body.insert(draw(st.integers(0, len(body))), extra)
    return _sign(
        draw(st.one_of(st.just(_REQUEST), kinds)),
        draw(tids),
        b"".join(body),
        draw(st.one_of(st.just(LOCAL_PWD), keys)),
        fingerprint=draw(st.booleans()),
        unsigned=b"".join(draw(st.lists(attributes, max_size=2))),
    )


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """An answer to our keepalive, mostly well-formed."""
    tid = draw(tids)
    body = [
        _attr(_XOR_MAPPED, stun.pack_xor_address(draw(st.sampled_from(ADDRESSES)), tid))
    ]
    for extra in draw(st.lists(attributes, max_size=2)):
        body.insert(draw(st.integers(0, len(body))), extra)
    return _sign(
        draw(st.one_of(st.just(_RESPONSE), kinds)),
        tid,
        b"".join(body),
        draw(st.one_of(st.just(REMOTE_PWD), keys)),
        fingerprint=draw(st.booleans()),
        unsigned=b"".join(draw(st.lists(attributes, max_size=2))),
    )


aioice_built = st.one_of(
    st.builds(
        _remote_check,
        st.booleans(),
        st.booleans(),
        tids,
        st.integers(0, 2**64 - 1),
        st.just(LOCAL_PWD),
    ),
    st.builds(
        _aioice_response,
        st.sampled_from(ADDRESSES),
        st.just(REMOTE_PWD),
        software=st.booleans(),
        fingerprint=st.booleans(),
    ),
)


def _flip(data: bytes, bit: int) -> bytes:
    return (
        data[: bit // 8]
        + bytes([data[bit // 8] ^ (1 << bit % 8)])
        + data[bit // 8 + 1 :]
    )


@st.composite
def mutated(draw: st.DrawFn, messages: st.SearchStrategy[bytes]) -> bytes:
    """A message with up to two mutations: truncated, one bit flipped, a wrong
    header length, bytes appended, an attribute length past the end, a
    MESSAGE-INTEGRITY of the wrong size, an unknown attribute inserted."""
    data = draw(messages)
    for _ in range(draw(st.integers(0, 2))):
        how = draw(
            st.sampled_from(
                [
                    "truncate",
                    "flip",
                    "flip in attribute",
                    "length",
                    "append",
                    "past end",
                    "mi size",
                    "insert",
                    "fingerprint",
                ]
            )
        )
        offsets = [pos for pos, _, _ in _attributes(data)]
        if how == "truncate" and data:
            # often within the header
            end = st.one_of(st.integers(0, 20), st.integers(0, len(data)))
            data = data[: min(draw(end), len(data) - 1)]
        elif how == "flip" and data:
            data = _flip(data, draw(st.integers(0, len(data) * 8 - 1)))
        elif how == "flip in attribute" and offsets:
            # the FINGERPRINT, say, is a few bits of a long message
            pos, _, value = draw(st.sampled_from(_attributes(data)))
            data = _flip(
                data, draw(st.integers(pos * 8, (pos + 4 + len(value)) * 8 - 1))
            )
        elif how == "length" and len(data) >= 4:
            data = _set_length(data, draw(st.integers(0, 0xFFFF)))
        elif how == "append":
            data += draw(st.binary(min_size=1, max_size=8))
            if draw(st.booleans()) and len(data) >= 20:
                data = _set_length(data)
        elif how == "past end" and offsets:
            pos = draw(st.sampled_from(offsets))
            size = len(data) - pos - 4 + draw(st.integers(1, 64))
            data = (
                data[: pos + 2] + struct.pack("!H", min(size, 0xFFFF)) + data[pos + 4 :]
            )
        elif how == "mi size":
            integrity = [(pos, v) for pos, kind, v in _attributes(data) if kind == _MI]
            if integrity:
                pos, value = integrity[0]
                size = draw(st.integers(0, 40).filter(lambda n: n != 20))
                head, rest = data[:pos], data[pos + len(_attr(_MI, value)) :]
                if draw(st.booleans()):  # the length field alone
                    data = _set_length(head + struct.pack("!HH", _MI, size) + rest)
                else:  # the value too, keeping what it can of the HMAC
                    value += draw(st.binary(min_size=20, max_size=20))
                    data = _set_length(head + _attr(_MI, value[:size]) + rest)
        elif how == "insert" and len(data) >= 20:
            pos = draw(st.sampled_from([*offsets, len(data)]))
            extra = _attr(draw(unknown_required), draw(st.binary(max_size=8)))
            data = _set_length(data[:pos] + extra + data[pos:])
        elif how == "fingerprint":
            for pos, kind, value in _attributes(data):
                if kind == _FP:  # one bit flipped, or another size
                    rest = data[pos + len(_attr(_FP, value)) :]
                    value = _flip(value + bytes(4), draw(st.integers(0, 31)))
                    value = value[: draw(st.sampled_from([4, 4, 0, 2, 3, 5, 8]))]
                    data = _set_length(data[:pos] + _attr(_FP, value) + rest)
    if draw(st.booleans()):
        # a sender signs what it got wrong too: FINGERPRINT comes last
        data = _refingerprint(data)
    return data


def _refingerprint(data: bytes) -> bytes:
    """``data`` with its last 4-byte FINGERPRINT made right again."""
    for pos, kind, value in reversed(_attributes(data)):
        if kind == _FP and len(value) == 4:
            crc = struct.pack("!I", stun.message_fingerprint(data[:pos]))
            return data[: pos + 4] + crc + data[pos + 8 :]
    return data


datagrams = st.one_of(
    st.binary(max_size=64),
    mutated(requests()),
    mutated(responses()),
    mutated(aioice_built),
)
#: what the datagram tap may be handed (asyncio's signature allows str)
tap_inputs = st.one_of(datagrams, st.text(max_size=40))


@st.composite
def states(draw: st.DrawFn) -> State:
    """A connection where rtcstate may answer, with up to two facts changed
    (each alone makes aioice do more than answer, or not answer)."""
    state = State(draw(st.booleans()), draw(st.sampled_from(ADDRESSES)))
    changes = ["pair_state", "nominated", "check_list_done", "unchecked_pair"]
    changes += ["early_checks_done", "closing"]
    for change in draw(st.sets(st.sampled_from(changes), max_size=2)):
        if change == "pair_state":
            others = ["FROZEN", "WAITING", "IN_PROGRESS", "FAILED"]
            state = replace(state, pair_state=draw(st.sampled_from(others)))
        else:
            state = replace(state, **{change: not getattr(state, change)})
    return state


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[Any, State]:
    """A datagram from the remote and the connection it arrives on."""
    state = draw(states())
    checks = requests(we_control=state.controlling)
    return draw(st.one_of(tap_inputs, checks, mutated(checks))), state


def _short_fingerprint() -> bytes:
    data = _sign(_REQUEST, TID, _attr(_USERNAME, CHECK_USERNAME.encode()), LOCAL_PWD)
    return _set_length(data[:-6] + b"\x00\x02" + data[-4:-2] + bytes(2))


def _long_integrity() -> bytes:
    body = _attr(_USERNAME, CHECK_USERNAME.encode())
    data = _sign(_REQUEST, TID, body, LOCAL_PWD, fingerprint=False)
    return _set_length(data[:-22] + b"\x00\x18" + data[-20:] + bytes(4))


#: a FINGERPRINT of 2 bytes; a MESSAGE-INTEGRITY of 24, the right HMAC first
_SHORT_FINGERPRINT, _LONG_INTEGRITY = _short_fingerprint(), _long_integrity()


# --- properties -----------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.one_of(tap_inputs, responses(), mutated(responses())))
@example(_sign(0x0111, TID, b"", REMOTE_PWD))  # an error response
@example(_sign(_RESPONSE, b"keepalive-02", b"", REMOTE_PWD))  # not ours
def test_is_answer_takes_only_what_aioice_accepts_as_our_answer(data: Any) -> None:
    rig = _rig(State())
    if rig.selected._is_answer(data, 0.0):
        assert _aioice_accepts_answer(data), data
        assert TID not in rig.selected._outstanding  # counted once
    else:
        # a refused datagram must not use up the keepalive's real answer
        assert TID in rig.selected._outstanding


@settings(max_examples=500, deadline=None)
@given(arrivals())
@example((_sign(_REQUEST, TID, _attr(_USERNAME, b"locl:remtx"), LOCAL_PWD), State()))
@example(
    (_sign(_REQUEST, TID, _attr(_USERNAME, CHECK_USERNAME.encode()), None), State())
)
@example((_SHORT_FINGERPRINT, State()))
@example((_LONG_INTEGRITY, State()))
def test_answer_sends_only_what_aioice_would_send_and_do_nothing_else(
    arrival: tuple[Any, State],
) -> None:
    data, state = arrival
    rig = _rig(state)
    answered = rig.selected._answer(data)
    ours = rig.socket.sent
    assert len(ours) == (1 if answered else 0)
    if answered:
        theirs = _aioice_just_answers(data, state)
        assert ours == theirs, (data, state, theirs)


@st.composite
def forged_answers(draw: st.DrawFn) -> tuple[str, bytes]:
    """An answer to our keepalive (right transaction id and address) with no,
    or a wrong, MESSAGE-INTEGRITY, and how it was forged."""
    fingerprint = draw(st.booleans())
    addr = draw(st.sampled_from(ADDRESSES))
    body = _attr(_XOR_MAPPED, stun.pack_xor_address(addr, TID))
    header = struct.pack("!HHI12s", _RESPONSE, 0, stun.COOKIE, TID)
    how = draw(st.sampled_from(["none", "wrong key", "ours", "random", "size", "flip"]))
    if how == "none":
        return how, _sign(_RESPONSE, TID, body, None, fingerprint=fingerprint)
    if how == "wrong key":
        key = draw(passwords.filter(lambda p: p != REMOTE_PWD))
        return how, _sign(_RESPONSE, TID, body, key, fingerprint=fingerprint)
    if how == "ours":  # our own answer reflected
        return how, _sign(_RESPONSE, TID, body, LOCAL_PWD, fingerprint=fingerprint)
    if how in ("random", "size"):
        mac = draw(st.binary(min_size=20, max_size=20))
        if how == "size":  # the right HMAC, cut or extended
            right = stun.message_integrity(header + body, REMOTE_PWD.encode())
            size = draw(st.integers(0, 40).filter(lambda n: n != 20))
            mac = (right + draw(st.binary(min_size=20, max_size=20)))[:size]
        data = _set_length(header + body + _attr(_MI, mac))
        if fingerprint:
            crc = struct.pack("!I", stun.message_fingerprint(data))
            data = _set_length(data + _attr(_FP, crc))
        return how, data
    # one bit flipped in what MESSAGE-INTEGRITY covers, or in itself; not in the
    # header's length (see test_gap_an_answer_with_a_wrong_length_is_taken)
    data = _sign(_RESPONSE, TID, body, REMOTE_PWD, fingerprint=fingerprint)
    signed = 20 + len(body) + 24
    bit = draw(st.integers(0, signed * 8 - 1).filter(lambda b: not 16 <= b < 32))
    return how, _flip(data, bit)


@settings(max_examples=400, deadline=None)
@given(forged_answers())
def test_a_forged_answer_is_never_taken_and_keeps_the_keepalive(
    forged: tuple[str, bytes],
) -> None:
    how, data = forged
    rig = _rig(State())
    if how == "flip" and _aioice_accepts_answer(data):
        # aioice takes a MESSAGE-INTEGRITY whose length field runs past the
        # datagram's end (it compares the bytes there are): the HMAC is still
        # the remote's, over this very keepalive, so it is no forgery
        return
    assert not _aioice_accepts_answer(data)
    assert not rig.selected._is_answer(data, 0.0)
    assert TID in rig.selected._outstanding


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ADDRESSES), passwords, st.booleans(), st.booleans())
def test_an_answer_built_by_aioice_is_taken_once(
    addr: tuple[str, int], password: str, software: bool, fingerprint: bool
) -> None:
    # passwords up to 256 characters: HMAC hashes keys over 64 bytes first
    data = _aioice_response(addr, password, software=software, fingerprint=fingerprint)
    assert _aioice_accepts_answer(data, password)
    rig = _rig(State(remote_password=password))
    assert rig.selected._is_answer(data, 0.0)
    assert not rig.selected._is_answer(data, 0.0)  # a duplicate counts once


@settings(max_examples=300, deadline=None)
@given(
    st.booleans(),
    st.booleans(),
    st.sampled_from(ADDRESSES),
    passwords,
    st.binary(min_size=12, max_size=12),
    st.integers(0, 2**64 - 1),
)
def test_a_check_built_by_aioice_is_answered_by_hand_as_aioice_answers_it(
    controlling: bool,
    nominate: bool,
    remote: tuple[str, int],
    password: str,
    tid: bytes,
    tie_breaker: int,
) -> None:
    state = State(controlling=controlling, remote=remote, local_password=password)
    data = _remote_check(controlling, nominate, tid, tie_breaker, password)
    rig = _rig(state)
    assert rig.selected._answer(data)
    assert rig.socket.sent == _aioice_just_answers(data, state)
    assert len(rig.socket.sent) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"nominated": False},
        {"check_list_done": False},
        {"unchecked_pair": True},
        {"early_checks_done": False},
        {"closing": True},
        {"pair_state": "FROZEN"},
        {"pair_state": "WAITING"},
        {"pair_state": "FAILED"},
    ],
    ids=lambda change: ",".join(f"{k}={v}" for k, v in change.items()),
)
def test_a_check_aioice_does_more_with_is_left_to_it(change: dict[str, Any]) -> None:
    # a nominating check from the controlling remote: aioice nominates the pair,
    # completes the check list, drops a pair, defers the check, starts one, or
    # ignores the datagram; rtcstate must leave each to it
    state = replace(State(controlling=False), **change)
    data = _remote_check(False, True, b"check-000001", 0, LOCAL_PWD)
    assert _aioice_just_answers(data, state) in (None, [])  # not a mere answer
    rig = _rig(state)
    assert not rig.selected._answer(data)
    assert rig.socket.sent == []


def _check_with(*extra: bytes) -> bytes:
    """A check with our USERNAME and a PRIORITY, signed with our password,
    with ``extra`` attributes before MESSAGE-INTEGRITY."""
    body = (
        _attr(_USERNAME, CHECK_USERNAME.encode())
        + _attr(_PRIORITY, struct.pack("!I", 1))
        + b"".join(extra)
    )
    return _sign(_REQUEST, b"check-000001", body, LOCAL_PWD)


def test_unknown_comprehension_required_attribute_is_answered_as_aioice_does() -> None:
    # RFC 8489 wants a 420 answer; aioice ignores the attribute and answers,
    # and so may rtcstate, with the same bytes
    data = _check_with(_attr(0x7FFF, b"new!"), _attr(_CONTROLLED, bytes(8)))
    rig = _rig(State())
    assert rig.selected._answer(data)
    assert rig.socket.sent == _aioice_just_answers(data, State())


def test_str_and_short_datagrams_are_refused_quietly() -> None:
    rig = _rig(State())
    for data in ("", "x" * 40, b"", b"\x00\x01", b"\x01\x01\x00", bytes(19)):
        assert not rig.selected._is_answer(data, 0.0)
        assert not rig.selected._answer(data)
    assert rig.socket.sent == []


# --- differences from aioice the fuzzing found, now closed ---------------------------
# Each is a message signed with the right password, so only a peer that has it
# can send one. aioice refuses each (or answers it otherwise), and so does rtcstate,
# which reads every message with aioice's parser.


def test_an_answer_with_a_wrong_fingerprint_is_refused() -> None:
    data = _aioice_response(ADDRESSES[0], REMOTE_PWD, software=False, fingerprint=True)
    data = _flip(data, len(data) * 8 - 1)  # the FINGERPRINT's last bit
    assert not _aioice_accepts_answer(data)
    assert not _rig(State()).selected._is_answer(data, 0.0)


def test_an_answer_with_a_wrong_length_is_refused() -> None:
    data = _aioice_response(ADDRESSES[0], REMOTE_PWD, software=False, fingerprint=True)
    data += bytes(4)  # the header's length no longer matches the datagram
    assert not _aioice_accepts_answer(data)
    assert not _rig(State()).selected._is_answer(data, 0.0)


def test_an_answer_with_an_attribute_aioice_cannot_read_is_refused() -> None:
    body = _attr(_XOR_MAPPED, b"\x00\x01\x00")  # too short for an address
    data = _sign(_RESPONSE, TID, body, REMOTE_PWD)
    assert not _aioice_accepts_answer(data)
    assert not _rig(State()).selected._is_answer(data, 0.0)


def test_a_check_with_an_attribute_aioice_cannot_read_is_left_to_it() -> None:
    # a 3-byte PRIORITY: aioice's parse_message raises struct.error, which its
    # datagram_received does not catch, so aioice never answers
    data = _sign(
        _REQUEST,
        b"check-000001",
        _attr(_USERNAME, CHECK_USERNAME.encode()) + _attr(_PRIORITY, b"\x00\x00\x01"),
        LOCAL_PWD,
    )
    assert _aioice_just_answers(data, State()) is None
    assert not _rig(State()).selected._answer(data)


def test_a_check_with_both_roles_is_left_to_aioice() -> None:
    # we control; aioice sees ICE-CONTROLLING and answers 487 (or switches
    # role), whatever follows it
    data = _check_with(_attr(_CONTROLLING, bytes(8)), _attr(_CONTROLLED, bytes(8)))
    rig = _rig(State(controlling=True))
    assert not rig.selected._answer(data)
    assert rig.socket.sent == []


# --- the hand reader's own edges (found by mutating it, not by the fuzzing) ------


def test_what_follows_message_integrity_is_not_read() -> None:
    # aioice reads nothing after MESSAGE-INTEGRITY but FINGERPRINT: a right
    # USERNAME there does not make up for a wrong one before it
    body = _attr(_USERNAME, b"locl:someone")
    after = _attr(_USERNAME, CHECK_USERNAME.encode())
    data = _sign(_REQUEST, b"check-000001", body, LOCAL_PWD, unsigned=after)
    sent = _aioice_just_answers(data, State())
    assert sent is not None and len(sent) == 1
    assert stun.parse_message(sent[0][0]).message_class == stun.Class.ERROR  # 401
    rig = _rig(State())
    assert not rig.selected._answer(data)
    assert rig.socket.sent == []


def test_a_username_that_is_not_utf8_is_refused_in_an_answer() -> None:
    body = _attr(_USERNAME, b"\xff\xfe") + _attr(
        _XOR_MAPPED, stun.pack_xor_address(ADDRESSES[0], TID)
    )
    data = _sign(_RESPONSE, TID, body, REMOTE_PWD)
    assert not _aioice_accepts_answer(data)
    assert not _rig(State()).selected._is_answer(data, 0.0)
