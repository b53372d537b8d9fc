"""ICE restarts that go wrong between two rtcstate peers on this machine: checks that
never get an answer, and restarts that succeed on one side only. Whatever happens,
a restart must leave the connection carrying data."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

import rtcstate
from rtcstate import _shims
from rtcstate.testing import FAST_LIVENESS, negotiate
from tests.support.inside import readout
from tests.support.peers import config
from tests.support.restart import Peers, checks_fail_at

pytestmark = pytest.mark.asyncio

TIMEOUT = 10.0
_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+) (\S+) (\d+)( typ .*)$", re.I)


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[Peers]:
    a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
    b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
    made = Peers(a, b)
    made.channel_a = a.createDataChannel("restart")
    made.channel_a.on("message", made.at_a.append)
    opened = asyncio.Event()
    made.channel_a.on("open", opened.set)
    came: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @b.on("datachannel")
    def on_datachannel(channel: Any) -> None:
        channel.on("message", made.at_b.append)
        if not came.done():
            came.set_result(channel)

    try:
        await rtcstate.testing.connect(a, b)
        made.channel_b = await asyncio.wait_for(came, TIMEOUT)
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        yield made
    finally:
        await asyncio.gather(a.close(), b.close())


class _Silent(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that never answers (it counts what it gets)."""

    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.received += 1


@pytest_asyncio.fixture
async def silent() -> AsyncIterator[tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        _Silent, local_addr=("127.0.0.1", 0)
    )
    try:
        yield transport.get_extra_info("sockname")[:2]
    finally:
        transport.close()


def unreachable(address: tuple[str, int]) -> Callable[[str], str]:
    """An SDP rewrite: every UDP candidate points at `address` instead."""
    host, port = address

    def rewrite(sdp: str) -> str:
        out = []
        for line in sdp.splitlines():
            match = _CANDIDATE.match(line)
            if match:
                line = f"{match[1]} {host} {port}{match[4]}"
            out.append(line)
        return "\r\n".join(out) + "\r\n"

    return rewrite


def _connection_states(pc: rtcstate.PeerConnection) -> list[str]:
    return [c.current for c in pc.state_history if c.attribute == "connectionState"]


async def _carries_on(peers: Peers) -> None:
    """Long after the restart (liveness would have read disconnected by then),
    data still flows both ways, and neither side ever read disconnected or
    failed."""
    await asyncio.sleep(3 * FAST_LIVENESS.disconnected_timeout)
    peers.send(5)
    await peers.delivered()
    for pc in (peers.a, peers.b):
        # the whole story when it fails (it failed once in 10 suite runs, under
        # 4 workers, and could not be made to again)
        story = [str(c) for c in pc.transport_history]
        assert pc.connectionState == "connected", story
        assert "disconnected" not in _connection_states(pc), story
        assert "failed" not in _connection_states(pc), story


async def _restart_ended(pc: rtcstate.PeerConnection, timeout: float) -> str:
    """Wait until the ICE restart under way on `pc` succeeded or failed; its
    cause."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        for change in reversed(pc.transport_history):
            detail = change.detail or ""
            if detail.startswith("ICE restart ("):
                break  # began, and nothing after it yet
            if detail.startswith(("ICE restart failed", "checks succeeded")):
                return detail
        await asyncio.sleep(0.02)
    raise AssertionError(f"no end of the restart in {timeout} s")


async def test_a_restart_begun_while_connected_is_bounded_by_failed_timeout(
    peers: Peers, silent: tuple[str, int]
) -> None:
    """Checks that never get an answer: before, the restart ran until aioice's
    transactions timed out (about 40 s), its sockets held, because the deadline
    ran only while the state read checking."""
    a, b = peers.a, peers.b
    ice = a.sctp.transport.transport
    before = _connection_states(a)
    loop = asyncio.get_running_loop()
    a.restartIce()
    start = loop.time()
    await negotiate(a, b, mangle=unreachable(silent))
    pending = _shims.connection(ice)
    detail = await _restart_ended(a, FAST_LIVENESS.failed_timeout + 5)
    took = loop.time() - start
    assert detail == (
        "ICE restart failed: no working candidate pair after "
        f"{FAST_LIVENESS.failed_timeout:g} s of checks"
    )
    assert took < FAST_LIVENESS.failed_timeout + 1.5
    assert _connection_states(a) == before  # connected all along
    assert _shims.connection(ice) is not pending  # the old one is back
    for _ in range(100):
        if _shims.closing(pending):
            break
        await asyncio.sleep(0.02)
    assert _shims.closing(pending)  # its sockets released
    peers.send(3)
    await peers.delivered()
    assert a.connectionState == "connected" and b.connectionState == "connected"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("failing", ["offerer", "answerer"])
@pytest.mark.parametrize("restarter", ["offerer", "answerer"])
async def test_a_restart_that_succeeds_on_one_side_only_leaves_the_old_pair_working(
    peers: Peers, restarter: str, failing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the side whose checks succeeded closed the old pair, the one the
    other side went back to: both read disconnected, then failed, and 4 of 201
    messages got through."""
    a, b = peers.a, peers.b
    other = a if failing == "offerer" else b
    succeeded = b if other is a else a
    first, second = (a, b) if restarter == "offerer" else (b, a)
    checks_fail_at(monkeypatch, other)
    peers.send(5)
    first.restartIce()
    await negotiate(first, second)
    for _ in range(20):  # during the restart and after it
        peers.send(5)
        await asyncio.sleep(0.1)
    await peers.delivered()
    assert (await _restart_ended(other, TIMEOUT)).startswith("ICE restart failed")
    assert (await _restart_ended(succeeded, TIMEOUT)).startswith("checks succeeded")
    # the side that succeeded finds the new pair silent, and goes back
    await _detail(succeeded, "ICE restart abandoned: the remote did not take")
    await _carries_on(peers)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("restarter", ["offerer", "answerer"])
async def test_a_restart_that_succeeds_on_both_sides_releases_the_old_pair(
    peers: Peers, restarter: str
) -> None:
    """The other half of the rule: data from the remote on the new pair proves it,
    and the old Connection closes."""
    a, b = peers.a, peers.b
    first, second = (a, b) if restarter == "offerer" else (b, a)
    olds = [_shims.connection(pc.sctp.transport.transport) for pc in (a, b)]
    first.restartIce()
    await negotiate(first, second)
    for pc in (a, b):
        assert (await _restart_ended(pc, TIMEOUT)).startswith("checks succeeded")
    peers.send(3)
    await peers.delivered()
    for _ in range(100):
        if all(_shims.closing(old) for old in olds):
            break
        await asyncio.sleep(0.02)
    assert all(_shims.closing(old) for old in olds)
    for pc in (a, b):
        assert pc.connectionState == "connected"
        restart = readout(pc).restart(pc.sctp.transport.transport)
        assert restart is not None and not restart.state.unproven


@pytest.mark.parametrize("restarter", ["offerer", "answerer"])
async def test_a_restart_that_fails_at_the_answerer_before_its_answer_harms_nothing(
    peers: Peers, restarter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answering side cannot make its new Connection: it answers with its old
    credentials, says why in its own history, and the offerer abandons its
    restart; the old pair carries on at both."""
    a, b = peers.a, peers.b
    first, second = (a, b) if restarter == "offerer" else (b, a)
    original = _shims.fresh_connection
    answering = _shims.connection(second.sctp.transport.transport)

    def fresh(old: Any, controlling: bool) -> Any:
        if old is answering:
            raise OSError("injected: no socket")
        return original(old, controlling)

    monkeypatch.setattr(_shims, "fresh_connection", fresh)
    peers.send(3)
    first.restartIce()
    await negotiate(first, second)
    peers.send(3)
    await peers.delivered()
    said = [c.detail for c in second.transport_history]
    assert (
        "ICE restart (remote offer) failed before the answer: OSError: injected: "
        "no socket"
    ) in said
    assert (await _detail(first, "ICE restart abandoned")) == (
        "ICE restart abandoned: the remote answered with its old ICE credentials "
        "(it cannot restart ICE, as plain aiortc, or its restart failed before it "
        "answered)"
    )
    await _carries_on(peers)


async def _detail(pc: rtcstate.PeerConnection, prefix: str) -> str:
    """The first detail in `pc`'s transport history that starts with `prefix`,
    waiting up to 4 s for it."""
    for _ in range(200):
        for change in pc.transport_history:
            if (change.detail or "").startswith(prefix):
                return change.detail or ""
        await asyncio.sleep(0.02)
    raise AssertionError([c.detail for c in pc.transport_history])
