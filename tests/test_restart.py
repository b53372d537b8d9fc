"""ICE restart between two rtcstate peers on this machine: restartIce(), a remote
offer with new credentials, a path that moved for good (FaultyLink.move()), the data
channel across it, and what a restart leaves behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import pytest_asyncio

import rtcstate
from rtcstate import _shims, rules
from rtcstate.testing import FAST_LIVENESS, FaultyLink, negotiate
from tests.support.inside import readout
from tests.support.peers import config, tasks_left
from tests.support.restart import Peers

pytestmark = pytest.mark.asyncio

TIMEOUT = 10.0
Role = Literal["offerer", "answerer"]


@dataclass
class Pair(Peers):
    """Two rtcstate peers through a FaultyLink, with a data channel each way."""

    link: FaultyLink | None = None

    async def renegotiate(self, offerer: Role) -> None:
        """An offer/answer through the link, from `offerer` (`a` is the link's)."""
        if offerer == "offerer":
            await negotiate(self.a, self.b, link=self.link)
            return
        a, b, link = self.a, self.b, self.link
        await b.setLocalDescription(await b.createOffer())
        await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
        await a.setLocalDescription(await a.createAnswer())
        await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))

    def peer(self, role: Role) -> rtcstate.PeerConnection:
        return self.a if role == "offerer" else self.b


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[Pair]:
    async with FaultyLink(seed=13) as link:
        a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        made = Pair(a, b, link=link)
        made.channel_a = a.createDataChannel("restart")
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        @b.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            made.channel_b = channel
            channel.on("message", made.at_b.append)
            if not opened.done():
                opened.set_result(None)

        made.channel_a.on("message", made.at_a.append)
        try:
            await rtcstate.testing.connect(a, b, link=link)
            await asyncio.wait_for(opened, TIMEOUT)
            for _ in range(500):
                if made.channel_a.readyState == "open":
                    break
                await asyncio.sleep(0.01)
            yield made
        finally:
            await asyncio.gather(a.close(), b.close())


def _ufrag(pc: rtcstate.PeerConnection) -> str:
    sdp = pc.localDescription.sdp
    return next(line for line in sdp.splitlines() if line.startswith("a=ice-ufrag:"))


def _valid(history: list[rtcstate.StateChange]) -> None:
    for change in history:
        assert rules.is_valid_transition(
            change.attribute, change.previous, change.current
        ), change


@pytest.mark.timeout(60)
@pytest.mark.parametrize("from_state", ["connected", "disconnected", "failed"])
@pytest.mark.parametrize("initiator", ["offerer", "answerer"])
async def test_a_restart_recovers_the_path_and_keeps_the_channel(
    pair: Pair, initiator: Role, from_state: str
) -> None:
    a, b = pair.a, pair.b
    restarter, other = (
        pair.peer(initiator),
        pair.peer("answerer" if initiator == "offerer" else "offerer"),
    )
    ice = a.sctp.transport.transport
    dtls = a.sctp.transport
    old_connection = _shims.connection(ice)
    ufrags = (_ufrag(a), _ufrag(b))
    dtls_changes = len([c for c in a.transport_history if c.kind == "dtls"])
    pair.send(5)
    await pair.delivered()
    before = len(a.state_history), len(b.state_history)

    if from_state != "connected":  # otherwise the old path still works
        await pair.link.move()
        await asyncio.gather(
            a.wait_for_connection_state(from_state, timeout=TIMEOUT),
            b.wait_for_connection_state(from_state, timeout=TIMEOUT),
        )
        pair.send(5)  # into the dead path: SCTP sends them again later

    restarter.restartIce()
    pair.send(5)  # while the restart is negotiated
    await pair.renegotiate(initiator)
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=TIMEOUT),
        b.wait_for_connection_state("connected", timeout=TIMEOUT),
    )
    pair.send(5)
    await pair.delivered()

    # new credentials on both sides, the same DTLS association (no new handshake)
    assert _ufrag(a) != ufrags[0] and _ufrag(b) != ufrags[1]
    assert a.sctp.transport is dtls and dtls.state == "connected"
    assert len([c for c in a.transport_history if c.kind == "dtls"]) == dtls_changes
    # the old aioice connection is closed: its sockets are released
    assert _shims.connection(ice) is not old_connection
    for _ in range(100):
        if old_connection._closed:
            break
        await asyncio.sleep(0.02)
    assert old_connection._closed and not old_connection._protocols

    for pc, why in ((restarter, "restartIce()"), (other, "remote offer")):
        changes = pc.state_history[before[0] if pc is a else before[1] :]
        states = [c.current for c in changes if c.attribute == "connectionState"]
        if from_state == "connected":
            assert states == []  # no visible disconnection
            restarts = [
                c for c in pc.transport_history if c.detail == f"ICE restart ({why})"
            ]
            assert len(restarts) == 1 and restarts[0].current == "connected"
        else:
            lost = (
                ["disconnected", "failed"] if from_state == "failed" else [from_state]
            )
            assert states == [*lost, "connecting", "connected"]
            restarting = next(c for c in changes if c.current == "connecting")
            assert restarting.previous == from_state
            assert restarting.cause.detail == f"ICE restart ({why})"
            back = [c for c in changes if c.attribute == "connectionState"][-1]
            assert back.cause.detail.startswith("checks succeeded on new pair")
        _valid(pc.state_history)


async def test_renegotiating_without_a_restart_keeps_the_credentials(
    pair: Pair,
) -> None:
    ufrags = (_ufrag(pair.a), _ufrag(pair.b))
    history = len(pair.a.transport_history), len(pair.b.transport_history)
    await pair.renegotiate("offerer")
    await pair.renegotiate("answerer")
    await asyncio.sleep(0.3)
    assert (_ufrag(pair.a), _ufrag(pair.b)) == ufrags
    for pc, seen in zip((pair.a, pair.b), history):
        assert not any("restart" in (c.detail or "") for c in pc.transport_history)
        assert len(pc.transport_history) == seen
    pair.send(3)
    await pair.delivered()


@pytest.mark.parametrize("front", ["PeerConnection", "watch"])
async def test_a_restart_gathers_even_when_an_earlier_gathering_ends_late(
    front: str,
) -> None:
    # aiortc's gathering for an earlier Connection that ends after a restart
    # replaced it marks the gatherer "completed" over the new Connection; the
    # restart's description must still carry the new candidates
    if front == "watch":
        from aiortc import RTCPeerConnection

        a, b = RTCPeerConnection(config()), RTCPeerConnection(config())
        states: Any = rtcstate.watch(a)
        rtcstate.watch(b)
    else:
        a, b = rtcstate.PeerConnection(config()), rtcstate.PeerConnection(config())
        states = a
    try:
        a.createDataChannel("x")
        await negotiate(a, b)
        transport = a.sctp.transport.transport
        for _ in range(300):
            if transport.state == "completed":
                break
            await asyncio.sleep(0.01)
        states.restartIce()
        offer = await a.createOffer()  # the restart begins: a new Connection
        gatherer = transport.iceGatherer
        assert getattr(gatherer, "_RTCIceGatherer__state") == "new"  # noqa: B009
        setattr(gatherer, "_RTCIceGatherer__state", "completed")  # noqa: B010
        await a.setLocalDescription(offer)
        sdp = a.localDescription.sdp
        assert "a=candidate:" in sdp, sdp
        assert _shims.gathered(_shims.connection(transport))
    finally:
        await a.close()
        await b.close()


async def test_restart_ice_fires_negotiationneeded_and_waits_for_stable(
    pair: Pair,
) -> None:
    a, b, link = pair.a, pair.b, pair.link
    fired: list[str] = []
    a.on("negotiationneeded", lambda: fired.append(a.signalingState))
    # an offer out: the restart waits for the answer
    await a.setLocalDescription(await a.createOffer())
    ufrag = _ufrag(a)
    a.restartIce()
    assert (
        a.sctp.transport.transport.iceGatherer.getLocalParameters().usernameFragment
        in ufrag
    )
    await asyncio.sleep(0.05)
    assert fired == []
    await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
    await asyncio.sleep(0.05)
    assert fired == ["stable"]  # once, after the answer
    await negotiate(a, b, link=link)
    assert _ufrag(a) != ufrag
    await a.wait_for_connection_state("connected", timeout=TIMEOUT)
    restarts = [
        c for c in a.transport_history if c.detail == "ICE restart (restartIce())"
    ]
    assert len(restarts) == 1


async def test_restart_ice_does_nothing_before_negotiation_or_once_closed() -> None:
    pc = rtcstate.PeerConnection(config())
    fired: list[int] = []
    pc.on("negotiationneeded", lambda: fired.append(1))
    try:
        pc.createDataChannel("x")
        pc.restartIce()  # no transport has started: its credentials are new
        await pc.setLocalDescription(await pc.createOffer())
        await asyncio.sleep(0.05)
        assert fired == []
        assert pc.transport_history == [] or all(
            "restart" not in (c.detail or "") for c in pc.transport_history
        )
    finally:
        await pc.close()
    pc.restartIce()  # closed: nothing, no error
    await asyncio.sleep(0.05)
    assert fired == []


@pytest.mark.timeout(60)
async def test_a_restart_whose_checks_fail_reads_failed_and_can_be_retried(
    pair: Pair,
) -> None:
    a, b, link = pair.a, pair.b, pair.link
    await link.move()
    link.cut()  # the new path does not work either
    a.restartIce()
    await negotiate(a, b, link=link)
    await a.wait_for_connection_state("failed", timeout=TIMEOUT)
    assert a.sctp.transport.state == "connected"  # kept for another restart
    link.restore()
    a.restartIce()
    await negotiate(a, b, link=link)
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=TIMEOUT),
        b.wait_for_connection_state("connected", timeout=TIMEOUT),
    )
    pair.send(3)
    await pair.delivered()
    states = [c.current for c in a.state_history if c.attribute == "connectionState"]
    assert states[-2:] == ["connecting", "connected"]
    assert "failed" in states
    _valid(a.state_history)
    _valid(b.state_history)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
async def test_a_hundred_restarts_leak_no_socket_and_no_task(pair: Pair) -> None:
    a, b, link = pair.a, pair.b, pair.link

    async def restart(n: int) -> None:
        for _ in range(n):
            a.restartIce()
            await negotiate(a, b, link=link)
            for _ in range(500):
                if not (readout(a).restarting or readout(b).restarting):
                    break
                await asyncio.sleep(0.01)

    await restart(3)  # warm up: the first restart makes rtcstate's objects
    await asyncio.sleep(0.3)
    fds, tasks = _fds(), len(asyncio.all_tasks())
    await restart(100)
    await asyncio.sleep(0.5)
    assert a.connectionState == "connected" and b.connectionState == "connected"
    assert _fds() <= fds + 2, "sockets left open by restarts"
    assert len(asyncio.all_tasks()) <= tasks + 2
    pair.send(3)
    await pair.delivered()
    restarts = [
        c for c in a.transport_history if c.detail == "ICE restart (restartIce())"
    ]
    assert len(restarts) >= 1


async def test_closing_during_a_restart_leaves_nothing(pair: Pair) -> None:
    a, b, link = pair.a, pair.b, pair.link
    a.restartIce()
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
    # both have a restart under way
    await asyncio.gather(a.close(), b.close())
    assert a.connectionState == "closed" and b.connectionState == "closed"
    assert await tasks_left() == []


async def test_a_restart_during_a_restart_replaces_it(pair: Pair) -> None:
    a, b, link = pair.a, pair.b, pair.link
    await link.move()
    link.cut()  # the first restart's checks cannot succeed
    a.restartIce()
    await negotiate(a, b, link=link)
    first = _shims.connection(a.sctp.transport.transport)
    link.restore()
    a.restartIce()  # webrtc-pc: new credentials again, at the next offer
    await negotiate(a, b, link=link)
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=TIMEOUT),
        b.wait_for_connection_state("connected", timeout=TIMEOUT),
    )
    # the first restart's connection was given up and closed
    assert _shims.connection(a.sctp.transport.transport) is not first
    for _ in range(100):
        if first._closed:
            break
        await asyncio.sleep(0.02)
    assert first._closed and not first._protocols
    began = [c for c in a.transport_history if c.detail == "ICE restart (restartIce())"]
    assert len(began) == 2
    pair.send(3)
    await pair.delivered()
    _valid(a.state_history)


async def test_while_a_restart_checks_the_old_pair_is_the_selected_one(
    pair: Pair,
) -> None:
    a, b, link = pair.a, pair.b, pair.link
    ice = a.sctp.transport.transport
    before = a.get_selected_candidate_pair(ice)
    assert before is not None
    a.restartIce()
    await a.setLocalDescription(await a.createOffer())  # the restart checks now
    assert _shims.connection(ice)._nominated == {}  # the new one has no pair yet
    during = a.get_selected_candidate_pair(ice)
    assert during is not None and during.remote == before.remote
    report = await a.getStats()
    selected = [
        s for s in report.values() if s.type == "candidate-pair" and s.nominated
    ]
    assert len(selected) == 1
    await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
    for _ in range(200):
        after = a.get_selected_candidate_pair(ice)
        if after is not None and after.local != before.local:
            break
        await asyncio.sleep(0.01)
    assert after is not None and after.local != before.local  # the new pair


async def test_an_error_inside_the_restart_leaves_the_connection_working(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, link = pair.a, pair.b, pair.link
    ufrags = (_ufrag(a), _ufrag(b))

    def broken(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(_shims, "fresh_connection", broken)
    a.restartIce()
    await negotiate(a, b, link=link)  # the offer goes out without a restart
    assert (_ufrag(a), _ufrag(b)) == ufrags
    pair.send(3)
    await pair.delivered()
    await asyncio.sleep(0.5)  # keepalives on the same pair still answered
    assert a.connectionState == "connected" and b.connectionState == "connected"
    assert any("injected" in str(r.exc_info) for r in caplog.records if r.exc_info)
