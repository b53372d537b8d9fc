"""rtcstate._tracker.StateTracker, the wiring, on its own: a tracker attached to a
plain aiortc connection (no front end), driven through its entry points and read
through its readout, with real peers over loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

from rtcstate._events import SelectedCandidatePair, StateChange, TransportChange
from rtcstate._options import Options
from rtcstate._tracker import Record, StateTracker
from rtcstate.testing import negotiate

pytestmark = pytest.mark.asyncio


class Peers:
    """`a` tracked (its records in `records`, `handle` run on each), `b` not."""

    def __init__(self) -> None:
        self.a, self.b = RTCPeerConnection(), RTCPeerConnection()
        self.records: list[Record] = []
        self.handle = lambda record: None
        self.tracker = StateTracker(
            self.a, self._record, Options(liveness=None, loopback="auto")
        )

    def _record(self, record: Record) -> None:
        self.records.append(record)
        self.handle(record)

    async def negotiate(self) -> None:
        self.a.createDataChannel("x")
        # the front ends sync at each signalingstatechange; here, once per side
        self.a.on("signalingstatechange", self.tracker.sync_transports)
        await negotiate(self.a, self.b)

    async def connected(self) -> None:
        await self.negotiate()
        await self.tracker.feed.wait_for("connectionState", ["connected"], 10.0)

    def states(self) -> list[tuple[str, str, str]]:
        return [
            (c.attribute, str(c.previous), str(c.current))
            for c in self.records
            if isinstance(c, StateChange)
        ]


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[Peers]:
    p = Peers()
    try:
        yield p
    finally:
        p.tracker.close()
        await p.a.close()
        await p.b.close()


async def test_transports_count_once_a_description_is_applied(peers: Peers) -> None:
    assert peers.tracker.read.transport_states() == {}
    await peers.negotiate()
    states = peers.tracker.read.transport_states()
    assert set(states) == {"ice#0 (mid 0)", "dtls#0 (mid 0)"}


async def test_each_step_reports_transports_then_ice_then_the_connection(
    peers: Peers,
) -> None:
    await peers.connected()
    states = peers.states()
    assert ("iceConnectionState", "checking", "connected") in states
    assert states[-1] == ("connectionState", "connecting", "connected")
    # within a step (one time stamp), a transport's change comes before the
    # aggregate ones it causes, and iceConnectionState before connectionState
    kinds = {TransportChange: 0, StateChange: 1, SelectedCandidatePair: 2}
    steps: dict[float, list[int]] = {}
    for record in peers.records:
        if not isinstance(record, SelectedCandidatePair):
            steps.setdefault(record.time, []).append(kinds[type(record)])
    assert all(order == sorted(order) for order in steps.values())
    assert [c for c in peers.records if isinstance(c, SelectedCandidatePair)]
    assert peers.tracker.feed.history == [
        c for c in peers.records if isinstance(c, StateChange)
    ]


async def test_a_step_a_handler_starts_runs_after_the_step_reporting(
    peers: Peers,
) -> None:
    # the ICE transport's change to connected and the iceConnectionState change
    # it causes come in one step; a note made by the first one's handler must
    # not come between them
    def handle(record: Record) -> None:
        if isinstance(record, TransportChange) and record.current == "connected":
            peers.handle = lambda record: None
            peers.tracker.note("noted by a handler")

    peers.handle = handle
    await peers.connected()
    order = [
        (r.attribute, str(r.current)) if isinstance(r, StateChange) else r.detail
        for r in peers.records
        if not isinstance(r, SelectedCandidatePair)
    ]
    noted = order.index("noted by a handler")
    assert order[noted - 1] == ("iceConnectionState", "connected")


async def test_a_handler_that_closes_ends_the_events_of_its_step(
    peers: Peers,
) -> None:
    def handle(record: Record) -> None:
        if isinstance(record, StateChange) and record.current == "connected":
            peers.tracker.close("closed by a handler")

    peers.handle = handle
    await peers.negotiate()
    await peers.tracker.feed.wait_for("connectionState", ["closed"], 10.0)
    last = peers.records[-1]
    assert isinstance(last, StateChange)
    assert (last.attribute, last.current) == ("iceConnectionState", "connected")
    history = peers.tracker.feed.history
    assert history[-1].current == "closed" and history[-1].cause.kind == "close"
    assert peers.tracker.read.connection_state == "closed"


async def test_a_note_is_recorded_without_a_state_change(peers: Peers) -> None:
    await peers.connected()
    count = len(peers.records)
    peers.tracker.note("recovery attempt 1 of 3: failed")
    (noted,) = peers.records[count:]
    assert isinstance(noted, TransportChange)
    assert noted.previous == noted.current
    assert noted.detail == "recovery attempt 1 of 3: failed"


async def test_close_is_silent_final_and_idempotent(peers: Peers) -> None:
    await peers.connected()
    count = len(peers.records)
    peers.tracker.close()
    peers.tracker.close()
    peers.tracker.note("after close")
    peers.tracker.sync_transports("after close")
    assert len(peers.records) == count  # no event for close(), nothing after
    assert peers.tracker.read.transport_states() == {}
    assert peers.tracker.read.selected_pairs() == []
    closes = [c for c in peers.tracker.feed.history if c.current == "closed"]
    assert [c.attribute for c in closes] == ["iceConnectionState", "connectionState"]


async def test_an_exception_inside_a_step_is_logged_not_raised(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "rtcstate")
    await peers.connected()

    def handle(record: Record) -> None:
        raise RuntimeError("a bug")

    peers.handle = handle
    peers.tracker.note("first")  # raises inside the step: logged
    peers.tracker.note("second")  # and tracking goes on
    assert [r.detail for r in peers.records[-2:]] == ["first", "second"]  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert len(warnings) == 1  # once with its traceback; later ones at debug
