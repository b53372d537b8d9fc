"""rtcstate.recover(): ICE restarts after a lost path, through the application's
signalling, between two rtcstate peers on this machine."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection
from aiortc.exceptions import InvalidStateError

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
            rtcstate.recover(pc, _nothing, **kwargs)
        with pytest.raises(TypeError, match="renegotiate must be"):
            rtcstate.recover(pc, "offer")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="needs an rtcstate PeerConnection"):
            rtcstate.recover(object(), _nothing)  # type: ignore[arg-type]
    finally:
        await pc.close()


async def _nothing() -> None:
    pass


class _Signalling:
    async def __call__(self) -> None:
        pass


async def test_what_cannot_work_is_refused_at_the_call() -> None:
    """Before, a plain function was accepted and failed only after an outage
    (logged at INFO), and two policies could run on one connection."""
    pc = rtcstate.PeerConnection(config())
    try:
        for plain in (lambda: asyncio.sleep(0), print):
            with pytest.raises(TypeError, match="coroutine function \\(async def\\)"):
                rtcstate.recover(pc, plain)
        first = rtcstate.recover(pc, functools.partial(_nothing))
        with pytest.raises(InvalidStateError, match="already runs"):
            rtcstate.recover(pc, _Signalling())
        first.stop()
        await first.wait_stopped()
        second = rtcstate.recover(pc, _Signalling())  # once stopped, another
        assert second.running
    finally:
        await pc.close()
    with pytest.raises(InvalidStateError, match="the connection is closed"):
        rtcstate.recover(pc, _nothing)


@pytest.mark.timeout(60)
async def test_a_slow_answer_is_applied_to_its_own_offer(peers: Peers) -> None:
    """The answer to an attempt's offer arrives after the attempt's timeout, as
    over a slow websocket. Before, the policy cancelled renegotiate() and sent a
    second offer, and the stale answer was applied to it."""
    a, b, link = peers.a, peers.b, peers.link
    answers: asyncio.Queue[Any] = asyncio.Queue()
    outstanding: list[int] = []
    held: set[asyncio.Task[None]] = set()

    async def remote(offer: Any) -> None:
        await b.setRemoteDescription(offer)
        await b.setLocalDescription(await b.createAnswer())
        await asyncio.sleep(0.3)  # the signalling is slow
        answers.put_nowait(link.answer_to_offerer(b.localDescription))

    async def renegotiate() -> None:
        """A websocket application's: the offer out, the next answer in."""
        await a.setLocalDescription(await a.createOffer())
        outstanding.append(1)
        assert len(outstanding) == 1, "two offers outstanding"
        task = asyncio.ensure_future(remote(link.offer_to_answerer(a.localDescription)))
        held.add(task)
        try:
            await a.setRemoteDescription(await answers.get())
        finally:
            outstanding.pop()

    # the answer comes after the attempt's timeout, and before the old pair's
    # consent expires at b (FAST_LIVENESS's failed_timeout, 1.5 s after the
    # move), which fails b's restart
    recovery = rtcstate.recover(a, renegotiate, grace=0.1, timeout=0.15, backoff=0.05)
    await link.move()
    await a.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    for _ in range(500):  # through failed (1.5 s), which the waiters call final
        if a.connectionState == "connected" == b.connectionState:
            break
        await asyncio.sleep(0.02)
    assert (a.connectionState, b.connectionState) == ("connected", "connected")
    # the attempt gave up on its renegotiation, which went on: its answer,
    # applied to its own offer, brought the connection back with no other offer
    assert [x.outcome for x in recovery.attempts] == [
        "renegotiation took more than 0.15 s"
    ]
    assert recovery.gave_up is None and a.signalingState == "stable"
    peers.channel.send("after")
    for _ in range(200):
        if peers.received[-1:] == ["after"]:
            break
        await asyncio.sleep(0.02)
    assert peers.received[-1:] == ["after"]
    recovery.stop()
    await asyncio.gather(*held)


async def test_each_attempt_says_the_state_it_restarted_from(peers: Peers) -> None:
    """Before, an attempt restarting from failed said its trigger was
    "disconnected for 0.5 s", the first attempt's."""
    a, link = peers.a, peers.link

    async def lost() -> None:
        raise ConnectionError("no signalling")

    recovery = rtcstate.recover(a, lost, grace=0.1, attempts=3, backoff=1.0)
    await link.move()
    await recovery.wait_stopped()
    triggers = [x.trigger for x in recovery.attempts]
    assert triggers[0] == "disconnected for 0.1 s"
    # the next ones begin after the back-off, once liveness read failed
    # (FAST_LIVENESS: 1.5 s after the move)
    assert triggers[1:] == ["failed", "failed"], triggers
