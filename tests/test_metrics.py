"""rtcstate.metrics: the Prometheus collector, on recorded changes and on real
loopback peers, and the example that serves it."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import signal
import subprocess
import sys
import urllib.request
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import rtcstate
from rtcstate import Cause, StateChange
from rtcstate.metrics import (
    DETECTION_DELAY_BUCKETS,
    RTT_BUCKETS,
    ConnectionCollector,
    _Follower,
    _Totals,
)
from rtcstate.states import Liveness, PeerConnectionState
from rtcstate.testing import FAST_LIVENESS, FaultyLink, connect
from tests.support.peers import config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "metrics_server.py"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(collector: ConnectionCollector) -> Samples:
    """What a registry with only `collector` exposes, parsed back."""
    registry = CollectorRegistry()
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def change(previous: str, current: str, time: float, cause: Cause) -> StateChange:
    return StateChange(
        "connectionState",
        PeerConnectionState(previous),
        PeerConnectionState(current),
        time,
        cause,
    )


# --- the totals, fed by hand --------------------------------------------------


def test_follower_counts_kinds_of_cause_and_times_each_span() -> None:
    totals = _Totals()
    follower = _Follower(totals, [])
    ice, dtls = Cause("ice", "ice#0"), Cause("dtls", "dtls#0", "connected")
    follower.changes([], [change("new", "connecting", 10.0, ice)])
    follower.changes([], [change("connecting", "connected", 10.4, dtls)])
    follower.verdict(Liveness.DISCONNECTED, "no answer for 1.5 s", 1.25)
    follower.changes(
        [],
        [
            change(
                "connected",
                "disconnected",
                20.0,
                Cause("ice", "ice#0", "disconnected", "no answer for 1.5 s"),
            )
        ],
    )
    follower.changes([], [change("disconnected", "connected", 23.0, ice)])
    # an ICE change aiortc reported is "ice", not "liveness"
    follower.changes(
        [],
        [change("connected", "disconnected", 30.0, Cause("ice", "ice#0", detail="x"))],
    )
    follower.changes([], [change("disconnected", "closed", 31.5, Cause("close"))])
    follower.round_trip(0.1)
    follower.round_trip(0.001)  # on a bound: counted in that bucket (le)

    assert totals.transitions == {
        ("new", "connecting", "ice"): 1,
        ("connecting", "connected", "dtls"): 1,
        ("connected", "disconnected", "liveness"): 1,
        ("disconnected", "connected", "ice"): 1,
        ("connected", "disconnected", "ice"): 1,
        ("disconnected", "closed", "close"): 1,
    }
    # reconnecting is not connecting again: one time to connected
    connected = dict(totals.time_to_connected.buckets())
    assert connected["0.25"] == 0 and connected["0.5"] == 1 and connected["+Inf"] == 1
    assert totals.time_to_connected.total == pytest.approx(0.4)
    assert sorted(totals.disconnected) == ["closed", "connected"]
    assert totals.disconnected["connected"].total == pytest.approx(3.0)
    assert totals.disconnected["closed"].total == pytest.approx(1.5)
    delay = dict(totals.detection_delay.buckets())
    assert delay["1.0"] == 0 and delay["1.5"] == 1 and delay["+Inf"] == 1
    rtt = dict(totals.rtt.buckets())
    assert rtt["0.001"] == 1 and rtt["0.05"] == 1 and rtt["0.1"] == 2


def test_a_follower_starts_where_the_history_left_the_connection() -> None:
    totals = _Totals()
    history = [
        change("new", "connecting", 1.0, Cause("ice")),
        change("connecting", "connected", 2.0, Cause("dtls")),
        change("connected", "disconnected", 5.0, Cause("ice")),
    ]
    follower = _Follower(totals, history)
    follower.changes([], [change("disconnected", "failed", 20.0, Cause("ice"))])
    assert totals.transitions == {("disconnected", "failed", "ice"): 1}
    assert totals.disconnected["failed"].total == pytest.approx(15.0)
    assert totals.time_to_connected.total == 0.0  # counted before it was followed


def test_an_outage_lasts_through_a_restarts_connecting() -> None:
    """recover() restarts ICE 0.5 s into an outage: the outage ends when the
    connection is back, not at the restart's connecting (before, every outage
    under recover() was recorded as 0.5 s with outcome="connecting")."""
    totals = _Totals()
    history = [
        change("new", "connecting", 1.0, Cause("ice")),
        change("connecting", "connected", 2.0, Cause("dtls")),
    ]
    follower = _Follower(totals, history)
    follower.changes([], [change("connected", "disconnected", 5.0, Cause("ice"))])
    follower.changes([], [change("disconnected", "connecting", 5.5, Cause("ice"))])
    follower.changes([], [change("connecting", "connected", 10.0, Cause("ice"))])
    follower.changes([], [change("connected", "disconnected", 20.0, Cause("ice"))])
    follower.changes([], [change("disconnected", "connecting", 20.5, Cause("ice"))])
    follower.changes([], [change("connecting", "failed", 35.0, Cause("ice"))])
    follower.changes([], [change("failed", "connecting", 36.0, Cause("ice"))])
    follower.changes([], [change("connecting", "connected", 40.0, Cause("ice"))])
    assert sorted(totals.disconnected) == ["connected", "failed"]
    assert totals.disconnected["connected"].total == pytest.approx(5.0)
    assert totals.disconnected["failed"].total == pytest.approx(15.0)


def test_the_families_follow_prometheus_naming() -> None:
    registry = CollectorRegistry()
    registry.register(ConnectionCollector())
    text = generate_latest(registry).decode()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == {
        "rtcstate_connections": "gauge",
        "rtcstate_connection_state_transitions": "counter",
        "rtcstate_time_to_connected_seconds": "histogram",
        "rtcstate_disconnected_seconds": "histogram",
        "rtcstate_detection_delay_seconds": "histogram",
        "rtcstate_selected_pair_rtt_seconds": "histogram",
        "rtcstate_selected_candidate_pairs": "gauge",
    }
    samples = parse(text)
    # every state has a series, at zero, before any connection
    for state in PeerConnectionState:
        assert value(samples, "rtcstate_connections", state=state.value) == 0.0
    assert len(DETECTION_DELAY_BUCKETS) + 1 == sum(
        1 for name, _ in samples if name == "rtcstate_detection_delay_seconds_bucket"
    )


# --- real peers --------------------------------------------------------------


@pytest_asyncio.fixture
async def fast() -> AsyncIterator[Callable[[], rtcstate.PeerConnection]]:
    """Factory of rtcstate peers with short liveness timers, closed at the end."""
    made: list[rtcstate.PeerConnection] = []

    def make() -> rtcstate.PeerConnection:
        pc = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        made.append(pc)
        return pc

    yield make
    for pc in made:
        await pc.close()
    await asyncio.sleep(0)


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_collector_on_a_pair_through_a_delay_a_cut_and_a_close(
    fast: Callable[[], rtcstate.PeerConnection],
) -> None:
    collector = ConnectionCollector()
    a, b = fast(), fast()
    collector.add(a)
    collector.add(b)
    a.createDataChannel("x")
    async with FaultyLink() as link:
        await connect(a, b, link=link)
        samples = scrape(collector)
        assert value(samples, "rtcstate_connections", state="connected") == 2
        assert value(samples, "rtcstate_connections", state="new") == 0
        assert (
            value(
                samples,
                "rtcstate_selected_candidate_pairs",
                local="host",
                remote="host",
            )
            == 2
        )
        assert value(samples, "rtcstate_time_to_connected_seconds_count") == 2
        assert 0 < value(samples, "rtcstate_time_to_connected_seconds_sum") < 10
        connected = sum(
            count
            for (name, labels), count in samples.items()
            if name == "rtcstate_connection_state_transitions_total"
            and ("to", "connected") in labels
            and ("from", "connecting") in labels
        )
        assert connected == 2

        # 50 ms each way: the round trips land in (0.05, 0.25]
        link.set_delay(0.05)
        await asyncio.sleep(1.0)
        samples = scrape(collector)
        count = value(samples, "rtcstate_selected_pair_rtt_seconds_count")
        slow = count - value(
            samples, "rtcstate_selected_pair_rtt_seconds_bucket", le="0.05"
        )
        assert slow >= 4  # a few keepalives on each side, at 0.2 s
        assert (
            value(samples, "rtcstate_selected_pair_rtt_seconds_bucket", le="0.25")
            == count
        )
        assert len(RTT_BUCKETS) == 10
        before = samples

        # a cut: both read disconnected by rtcstate's liveness, then connected
        link.set_delay(0.0)
        link.cut()
        await a.wait_for_connection_state("disconnected", timeout=5)
        await b.wait_for_connection_state("disconnected", timeout=5)
        link.restore()
        await a.wait_for_connection_state("connected", timeout=5)
        await b.wait_for_connection_state("connected", timeout=5)
        samples = scrape(collector)
        assert (
            value(
                samples,
                "rtcstate_connection_state_transitions_total",
                **{"from": "connected", "to": "disconnected", "cause": "liveness"},
            )
            == 2
        )
        assert (
            value(samples, "rtcstate_disconnected_seconds_count", outcome="connected")
            == 2
        )
        delays = value(samples, "rtcstate_detection_delay_seconds_count")
        assert delays == 2
        # FAST_LIVENESS says disconnected 0.6 s after the last answer, which is at
        # most one keepalive interval (0.2 s) before the last datagram
        mean = value(samples, "rtcstate_detection_delay_seconds_sum") / delays
        assert 0.35 < mean < 1.0, mean
        assert value(samples, "rtcstate_detection_delay_seconds_bucket", le="0.25") == 0
        assert value(samples, "rtcstate_time_to_connected_seconds_count") == 2
        assert value(samples, "rtcstate_selected_pair_rtt_seconds_count") > count
        assert before != samples

        await a.close()
        samples = scrape(collector)
        assert value(samples, "rtcstate_connections", state="closed") == 1
        assert value(samples, "rtcstate_connections", state="connected") == 1
        assert (
            value(
                samples,
                "rtcstate_connection_state_transitions_total",
                **{"from": "connected", "to": "closed", "cause": "close"},
            )
            == 1
        )
        # a closed connection has no selected pair
        assert (
            value(
                samples,
                "rtcstate_selected_candidate_pairs",
                local="host",
                remote="host",
            )
            == 1
        )


@pytest.mark.asyncio
async def test_counts_outlive_a_collected_connection_and_it_is_not_kept_alive(
    connected_pair: tuple[rtcstate.PeerConnection, rtcstate.PeerConnection],
) -> None:
    collector = ConnectionCollector()
    pc = rtcstate.PeerConnection(config())
    collector.add(pc)
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    assert scrape(collector)[("rtcstate_connections", (("state", "closed"),))] == 1
    ref = weakref.ref(pc)
    del pc
    await asyncio.sleep(0)
    gc.collect()
    assert ref() is None
    samples = scrape(collector)
    assert value(samples, "rtcstate_connections", state="closed") == 0
    assert collector.connections == []
    assert (
        value(
            samples,
            "rtcstate_connection_state_transitions_total",
            **{"from": "new", "to": "closed", "cause": "close"},
        )
        == 1
    )


@pytest.mark.asyncio
async def test_all_connections_covers_those_made_before_and_after(
    connected_pair: tuple[rtcstate.PeerConnection, rtcstate.PeerConnection],
    pcs: Callable[..., rtcstate.PeerConnection],
) -> None:
    a, b = connected_pair
    collector = ConnectionCollector(all_connections=True)
    later = pcs()
    watched = rtcstate.watch(pcs(cls=rtcstate.PeerConnection))
    covered = collector.connections
    for connection in (a, b, later, watched):
        assert any(c is connection for c in covered)
    samples = scrape(collector)
    assert value(samples, "rtcstate_connections", state="connected") >= 2
    assert value(samples, "rtcstate_connections", state="new") >= 2
    given = ConnectionCollector()
    assert given.connections == []


@pytest.mark.asyncio
async def test_an_observer_that_raises_costs_neither_tracking_nor_events(
    pcs: Callable[..., rtcstate.PeerConnection], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def changes(self, *args: object) -> None:
            raise RuntimeError("boom")

        verdict = round_trip = changes

    a, b = pcs(), pcs()
    fired: list[str] = []
    a.on("connectionstatechange", lambda change: fired.append(str(change.current)))
    a._add_observer(Broken())
    a.createDataChannel("x")
    with caplog.at_level(logging.ERROR, logger="rtcstate"):
        await connect(a, b)
    assert fired == ["connecting", "connected"]
    assert "an observer of rtcstate's changes raised" in caplog.text


# --- the example ---------------------------------------------------------------


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # 127.0.0.1 only
        assert response.status == 200
        return response.read().decode()


@pytest.mark.timeout(60)
def test_metrics_server_example_serves_what_its_connections_do() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "dev",
            str(EXAMPLE),
            "--port",
            "0",
            "--pairs",
            "3",
            "--close-one-after",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        url = found.group(0)
        samples = parse(_get(url))
        assert value(samples, "rtcstate_connections", state="connected") == 6
        assert value(samples, "rtcstate_time_to_connected_seconds_count") == 6
        assert "closed one pair" in process.stdout.readline()
        samples = parse(_get(url))
        assert value(samples, "rtcstate_connections", state="connected") == 4
        assert value(samples, "rtcstate_connections", state="closed") == 2
        assert (
            value(
                samples,
                "rtcstate_connection_state_transitions_total",
                **{"from": "connected", "to": "closed", "cause": "close"},
            )
            == 2
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def test_import_rtcstate_does_not_import_prometheus_client() -> None:
    code = (
        "import sys, rtcstate, rtcstate.testing\n"
        "assert 'prometheus_client' not in sys.modules\n"
        "import rtcstate.metrics\n"
        "assert 'prometheus_client' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
