"""The change feed (rtcstate._feed) on plain values: histories, waiters and
iterators, with no aiortc connection behind them."""

from __future__ import annotations

import asyncio

import pytest

from rtcstate import UnreachableStateError
from rtcstate._events import Attribute, Cause, StateChange, TransportChange
from rtcstate._feed import ChangeFeed
from rtcstate.states import IceConnectionState, PeerConnectionState

P = PeerConnectionState


class Connection:
    """Stands in for the state machine: the current values, set by the test."""

    def __init__(self) -> None:
        self.states: dict[str, object] = {
            "connectionState": P.NEW,
            "iceConnectionState": IceConnectionState.NEW,
        }

    def current(self, attribute: Attribute) -> object:
        return self.states[attribute]

    def change(self, feed: ChangeFeed, to: PeerConnectionState) -> StateChange:
        change = StateChange(
            "connectionState", self.states["connectionState"], to, 1.0, Cause("ice")
        )  # type: ignore[arg-type]
        self.states["connectionState"] = to
        feed.record([], [change])
        feed.publish([change])
        return change


def feed_of(connection: Connection, size: int = 10) -> ChangeFeed:
    return ChangeFeed(size, connection.current)  # type: ignore[arg-type]


def test_histories_keep_the_newest_entries() -> None:
    connection = Connection()
    feed = feed_of(connection, size=2)
    made = [connection.change(feed, s) for s in (P.CONNECTING, P.CONNECTED, P.FAILED)]
    assert feed.history == made[1:]
    moves = [TransportChange("ice", "ice#0", "new", s, 1.0) for s in "abc"]
    feed.record(moves, [])
    assert feed.transport_history == moves[1:]
    feed.history.clear()  # a copy: the feed keeps its own
    assert len(feed.history) == 2


@pytest.mark.asyncio
async def test_a_waiter_wakes_when_its_state_is_published() -> None:
    connection = Connection()
    feed = feed_of(connection)
    waiter = asyncio.ensure_future(feed.wait_for("connectionState", ["connected"], 1))
    await asyncio.sleep(0)
    assert feed.waiting == 1
    connection.change(feed, P.CONNECTING)
    await asyncio.sleep(0)
    assert not waiter.done()
    connection.change(feed, P.CONNECTED)
    assert await waiter == "connected"
    assert feed.waiting == 0


@pytest.mark.asyncio
async def test_a_waiter_fails_as_soon_as_its_state_is_out_of_reach() -> None:
    connection = Connection()
    feed = feed_of(connection)
    waiter = asyncio.ensure_future(feed.wait_for("connectionState", ["connected"], 1))
    await asyncio.sleep(0)
    connection.change(feed, P.FAILED)
    with pytest.raises(UnreachableStateError, match="terminal"):
        await waiter
    with pytest.raises(UnreachableStateError, match="it is failed"):
        await feed.wait_for("connectionState", ["connected"], 1)
    assert await feed.wait_for("connectionState", ["failed", "closed"], 1) == "failed"


@pytest.mark.asyncio
async def test_an_iterator_sees_its_attribute_only_and_ends_with_the_feed() -> None:
    connection = Connection()
    feed = feed_of(connection)
    iterator = feed.changes("connectionState")
    ice_only = feed.changes("iceConnectionState")
    made = connection.change(feed, P.CONNECTING)
    feed.end()
    assert [c async for c in iterator] == [made]
    assert [c async for c in ice_only] == []
    # made after the end: empty at once
    assert [c async for c in feed.changes("connectionState")] == []
