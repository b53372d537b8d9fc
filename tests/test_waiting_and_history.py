"""Waiting, iterating and history, on real aiortc connections."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate.testing import connect
from tests.support.inside import feed
from tests.support.peers import config

pytestmark = pytest.mark.asyncio


async def test_wait_returns_at_once_when_already_there(pcs) -> None:
    pc = pcs()
    assert await pc.wait_for_connection_state("new", "connected") == "new"
    assert await pc.wait_for_ice_connection_state("new", timeout=0) == "new"


async def test_wait_times_out(pcs) -> None:
    pc = pcs()
    with pytest.raises(
        asyncio.TimeoutError,
        match=r"connectionState did not become connected or failed within 0\.05 s: "
        "it is new",
    ):
        await pc.wait_for_connection_state("failed", "connected", timeout=0.05)
    assert not feed(pc).waiting  # nothing left behind


async def test_wait_on_closed_connection_raises_at_once(pcs) -> None:
    pc = pcs()
    await pc.close()
    with pytest.raises(rtcstate.UnreachableStateError, match="close\\(\\) was called"):
        await pc.wait_for_connection_state("connected")
    assert await pc.wait_for_connection_state("closed") == "closed"


async def test_close_while_waiting_raises_promptly(pcs) -> None:
    pc = pcs()
    waiter = asyncio.ensure_future(
        pc.wait_for_connection_state("connected", timeout=30)
    )
    ice_waiter = asyncio.ensure_future(pc.wait_for_ice_connection_state("closed"))
    await asyncio.sleep(0)
    await pc.close()
    with pytest.raises(rtcstate.UnreachableStateError, match="connectionState"):
        await asyncio.wait_for(waiter, 1)
    assert await asyncio.wait_for(ice_waiter, 1) == "closed"


async def test_bad_wait_arguments_are_clear_errors(pcs) -> None:
    pc = pcs()
    with pytest.raises(ValueError, match="at least one state"):
        await pc.wait_for_connection_state()
    with pytest.raises(ValueError, match="connectionState: 'completed' is not one of"):
        await pc.wait_for_connection_state("completed")
    with pytest.raises(ValueError, match="timeout"):
        await pc.wait_for_connection_state("connected", timeout=-1)


async def test_history_size_is_validated() -> None:
    with pytest.raises(ValueError, match="history_size"):
        rtcstate.PeerConnection(history_size=0)


async def test_iterator_misses_no_change_and_ends_with_close(pcs) -> None:
    a, b = pcs(), pcs()
    changes = a.connection_state_changes()  # registered now, before any change
    ice_changes = a.ice_connection_state_changes()
    a.createDataChannel("x")
    await connect(a, b)
    await a.close()
    got = [(c.previous, c.current) async for c in changes]  # consumed late
    assert got == [
        ("new", "connecting"),
        ("connecting", "connected"),
        ("connected", "closed"),
    ]
    ice = [c.current async for c in ice_changes]
    assert ice == ["checking", "connected", "completed", "closed"]
    assert [c.current async for c in a.connection_state_changes()] == []


async def test_history_has_times_and_causes(connected_pair) -> None:
    a, _ = connected_pair
    history = a.state_history
    assert [(c.attribute, c.current) for c in history] == [
        ("iceConnectionState", "checking"),
        ("connectionState", "connecting"),
        ("iceConnectionState", "connected"),
        ("iceConnectionState", "completed"),
        ("connectionState", "connected"),
    ]
    times = [c.time for c in history]
    assert times == sorted(times)
    assert abs(times[-1] - asyncio.get_running_loop().time()) < 5
    assert history[0].cause.kind == "ice" and history[0].cause.state == "checking"
    assert history[0].cause.transport.startswith("ice#0")
    assert history[-1].cause.kind == "dtls" and history[-1].cause.state == "connected"
    for previous, change in zip(history, history[1:]):
        if previous.attribute == change.attribute:
            assert previous.current == change.previous


async def test_history_is_bounded(pcs) -> None:
    a, b = rtcstate.PeerConnection(config(), history_size=2), pcs()
    a.createDataChannel("x")
    try:
        await connect(a, b)
        assert [c.current for c in a.state_history] == ["completed", "connected"]
    finally:
        await a.close()


async def test_sctp_transport_states_on_connected(connected_pair) -> None:
    a, b = connected_pair
    ice = a.sctp.transport.transport
    assert a.get_ice_transport_state(ice) in ("connected", "completed")
    with pytest.raises(ValueError, match="not an ICE transport"):
        b.get_ice_transport_state(ice)


async def test_transport_history_records_each_transport_change(
    connected_pair,
) -> None:
    a, _ = connected_pair
    await a.wait_for_ice_connection_state("completed", timeout=5)
    moves = [
        (c.kind, c.transport.split()[0], c.previous, c.current)
        for c in a.transport_history
    ]
    assert moves == [
        ("ice", "ice#0", "new", "checking"),
        ("ice", "ice#0", "checking", "connected"),
        ("ice", "ice#0", "connected", "completed"),
        ("dtls", "dtls#0", "new", "connecting"),
        ("dtls", "dtls#0", "connecting", "connected"),
    ]
    # DTLS "connecting" moved no aggregate state, yet it is recorded
    assert not any(c.cause.state == "connecting" for c in a.state_history)
    times = [c.time for c in a.transport_history]
    assert times == sorted(times)


async def test_repr_shows_the_states_and_the_transports(pcs) -> None:
    pc = pcs()
    assert repr(pc) == (
        "<PeerConnection connectionState=new iceConnectionState=new transports=[]>"
    )
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    assert repr(pc).endswith("transports=[ice#0 (mid 0): new, dtls#0 (mid 0): new]>")
    watcher = rtcstate.watch(RTCPeerConnection())
    assert repr(watcher).startswith("<ConnectionWatcher connectionState=new ")
    await watcher.pc.close()
    assert "connectionState=closed" in repr(watcher)


@pytest.mark.asyncio
async def test_records_give_their_time_on_the_wall_clock(connected_pair) -> None:
    a, _ = connected_pair
    loop = asyncio.get_running_loop()
    before_wall, before_loop = time.time(), loop.time()
    change = a.state_history[-1]
    # the change happened before now, by as much on both clocks
    assert change.wall_time == pytest.approx(
        before_wall - (before_loop - change.time), abs=0.01
    )
    assert change.wall_time <= time.time()
    transport_change = a.transport_history[-1]
    assert transport_change.wall_time == pytest.approx(
        rtcstate.wall_time(transport_change.time)
    )
    pair = a.get_selected_candidate_pair(a.sctp)
    assert pair is not None and abs(pair.wall_time - time.time()) < 1.0
