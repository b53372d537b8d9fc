"""rtcstate.recover(): ICE restarts after a lost path, through the application's
signalling, between two rtcstate peers on this machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate import rules
from rtcstate.testing import FAST_LIVENESS, FaultyLink, connect, negotiate
from tests.support.peers import config, tasks_left

pytestmark = pytest.mark.asyncio

TIMEOUT = 10.0


class Peers:
    def __init__(self, link: FaultyLink) -> None:
        self.link = link
        self.a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        self.b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        self.received: list[str] = []
        self.renegotiations = 0
        self.concurrent = 0
        self.most_concurrent = 0
        self.channel: Any = self.a.createDataChannel("recovery")

        @self.b.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            channel.on("message", self.received.append)

    async def renegotiate(self) -> None:
        """The application's signalling: here, straight through the link."""
        self.renegotiations += 1
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            await negotiate(self.a, self.b, link=self.link)
        finally:
            self.concurrent -= 1


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[Peers]:
    async with FaultyLink(seed=21) as link:
        made = Peers(link)
        try:
            await connect(made.a, made.b, link=link)
            for _ in range(500):
                if made.channel.readyState == "open":
                    break
                await asyncio.sleep(0.01)
            yield made
        finally:
            await asyncio.gather(made.a.close(), made.b.close())


def _valid(pc: rtcstate.PeerConnection) -> None:
    for change in pc.state_history:
        assert rules.is_valid_transition(
            change.attribute, change.previous, change.current
        ), change


@pytest.mark.timeout(60)
async def test_a_moved_path_is_recovered_after_the_grace_period(peers: Peers) -> None:
    a, b = peers.a, peers.b
    recovery = rtcstate.recover(a, peers.renegotiate, grace=0.3)
    for i in range(5):
        peers.channel.send(f"m{i}")
    loop = asyncio.get_running_loop()
    await peers.link.move()
    moved = loop.time()
    await a.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    for i in range(5, 10):
        peers.channel.send(f"m{i}")
    # back once the policy restarted ICE (not before: the old path is dead)
    await a.wait_for_connection_state("connecting", timeout=TIMEOUT)
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=TIMEOUT),
        b.wait_for_connection_state("connected", timeout=TIMEOUT),
    )
    took = loop.time() - moved
    for _ in range(100):  # the policy records the attempt right after
        if recovery.attempts:
            break
        await asyncio.sleep(0.01)
    for i in range(10, 15):
        peers.channel.send(f"m{i}")
    for _ in range(300):
        if len(peers.received) == 15:
            break
        await asyncio.sleep(0.02)
    assert peers.received == [f"m{i}" for i in range(15)]

    assert len(recovery.attempts) == 1
    attempt = recovery.attempts[0]
    assert attempt.succeeded and attempt.number == 1
    assert attempt.trigger == "disconnected for 0.3 s"
    # detection (0.6 s with these timers) + grace + the restart, with slack
    assert 0.6 + 0.3 <= took < 5.0
    causes = [c.detail for c in a.transport_history]
    assert "ICE restart (recovery attempt 1 of 3: disconnected for 0.3 s)" in causes
    assert recovery.running and recovery.gave_up is None
    _valid(a)
    _valid(b)
    recovery.stop()
    await recovery.wait_stopped()
    assert not recovery.running


async def test_a_blip_shorter_than_the_grace_period_restarts_nothing(
    peers: Peers,
) -> None:
    a = peers.a
    recovery = rtcstate.recover(a, peers.renegotiate, grace=3.0)
    peers.link.cut()
    await a.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    peers.link.restore()
    await a.wait_for_connection_state("connected", timeout=TIMEOUT)
    await asyncio.sleep(0.2)
    assert recovery.attempts == [] and peers.renegotiations == 0
    recovery.stop()


@pytest.mark.timeout(60)
async def test_the_policy_gives_up_after_its_attempts_and_closes(peers: Peers) -> None:
    a = peers.a
    recovery = rtcstate.recover(
        a, peers.renegotiate, grace=0.1, attempts=3, backoff=0.05, timeout=1.0
    )
    await peers.link.move()
    peers.link.cut()  # the new path does not work either
    await recovery.wait_stopped()
    assert a.connectionState == "closed"
    assert [x.number for x in recovery.attempts] == [1, 2, 3]
    assert not any(x.succeeded for x in recovery.attempts)
    assert recovery.gave_up is not None
    assert recovery.gave_up.startswith("recovery gave up after 3 attempts")
    closed = a.state_history[-1]
    assert closed.current == "closed" and recovery.gave_up in str(closed.cause.detail)
    assert peers.most_concurrent == 1  # never two restarts at once
    assert peers.renegotiations == 3
    _valid(a)


async def test_a_failing_renegotiation_is_an_attempt_that_failed(peers: Peers) -> None:
    a = peers.a
    calls: list[int] = []

    async def broken() -> None:
        calls.append(1)
        raise ConnectionError("signalling server unreachable")

    recovery = rtcstate.recover(a, broken, grace=0.1, attempts=2, backoff=0.05)
    await peers.link.move()
    await recovery.wait_stopped()
    assert [x.outcome for x in recovery.attempts] == [
        "renegotiation failed: ConnectionError: signalling server unreachable"
    ] * 2
    assert a.connectionState == "closed" and len(calls) == 2
    notes = [c.detail for c in a.transport_history if c.previous == c.current]
    assert (
        "recovery attempt 1 of 2: renegotiation failed: ConnectionError: "
        "signalling server unreachable"
    ) in notes


async def test_the_policy_ends_when_the_connection_closes(peers: Peers) -> None:
    recovery = rtcstate.recover(peers.a, peers.renegotiate)
    await asyncio.sleep(0.05)
    assert recovery.running
    await peers.a.close()
    await asyncio.wait_for(recovery.wait_stopped(), TIMEOUT)
    assert not recovery.running and recovery.attempts == []


async def test_the_policy_works_on_a_watched_connection() -> None:
    async with FaultyLink(seed=22) as link:
        pc = RTCPeerConnection(config())
        watcher = rtcstate.watch(pc, liveness=FAST_LIVENESS)
        b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        try:
            pc.createDataChannel("w")
            await connect(watcher, b, link=link)

            async def renegotiate() -> None:
                await negotiate(watcher, b, link=link)

            recovery = rtcstate.recover(watcher, renegotiate, grace=0.2)
            await link.move()
            await watcher.wait_for_connection_state("disconnected", timeout=TIMEOUT)
            await watcher.wait_for_connection_state("connecting", timeout=TIMEOUT)
            await watcher.wait_for_connection_state("connected", timeout=TIMEOUT)
            for _ in range(100):  # the policy records the attempt right after
                if recovery.attempts:
                    break
                await asyncio.sleep(0.01)
            assert recovery.attempts and recovery.attempts[-1].succeeded
            recovery.stop()
        finally:
            await asyncio.gather(pc.close(), b.close())
    assert await tasks_left() == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"grace": 0}, "grace must be a positive number"),
        ({"grace": float("nan")}, "grace must be a positive number"),
        ({"backoff": -1}, "backoff must be a positive number"),
        ({"timeout": True}, "timeout must be a positive number"),
        ({"attempts": 0}, "attempts must be an int of at least 1"),
        ({"attempts": 1.5}, "attempts must be an int of at least 1"),
    ],
)
async def test_bad_settings_are_refused(kwargs: dict[str, Any], error: str) -> None:
    pc = rtcstate.PeerConnection(config())
    try:
        with pytest.raises(ValueError, match=error):
            rtcstate.recover(pc, lambda: asyncio.sleep(0), **kwargs)
        with pytest.raises(TypeError, match="renegotiate must be"):
            rtcstate.recover(pc, "offer")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="needs an rtcstate PeerConnection"):
            rtcstate.recover(object(), lambda: asyncio.sleep(0))  # type: ignore[arg-type]
    finally:
        await pc.close()
