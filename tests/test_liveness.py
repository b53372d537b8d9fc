"""The sans-IO liveness monitor on simulated time: no sleeps, no sockets."""

from __future__ import annotations

import heapq
import itertools
import random
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcstate.liveness import (
    KeepaliveDue,
    LivenessChanged,
    LivenessConfig,
    LivenessMonitor,
)
from rtcstate.states import Liveness

RTT = 0.002


class Sim:
    """Drives a monitor the way the asyncio driver does: timers and arrivals.

    `link_up(t)` says whether a packet sent at time t crosses (each way); an
    answered keepalive comes back one RTT later. `add_arrivals` adds other
    packets from the remote (its own traffic).
    """

    def __init__(
        self, config: LivenessConfig, link_up: Callable[[float], bool]
    ) -> None:
        self.monitor = LivenessMonitor(config, now=0.0)
        self.link_up = link_up
        self.arrivals: list[tuple[float, bool]] = []  # (time, is an answer)
        self.sent: list[float] = []
        self.changes: list[tuple[float, str, str]] = []

    def add_arrivals(self, times: list[float]) -> None:
        for t in times:
            heapq.heappush(self.arrivals, (t, False))

    def run(self, until: float) -> None:
        m = self.monitor
        for _ in range(10_000_000):  # bounded
            timer = m.get_timer()
            arrival = self.arrivals[0][0] if self.arrivals else None
            candidates = [t for t in (timer, arrival) if t is not None]
            if not candidates or min(candidates) > until:
                return
            now = min(candidates)
            if arrival is not None and arrival == now:
                _, answer = heapq.heappop(self.arrivals)
                if answer:
                    m.answer_received(now)
                else:
                    m.packet_received(now)
            else:
                m.handle_timer(now)
            while (event := m.next_event()) is not None:
                if isinstance(event, KeepaliveDue):
                    self.sent.append(now)
                    if self.link_up(now) and self.link_up(now + RTT / 2):
                        heapq.heappush(self.arrivals, (now + RTT, True))
                else:
                    assert isinstance(event, LivenessChanged)
                    self.changes.append((now, event.liveness.value, event.reason))
        raise AssertionError("simulation did not finish")


def cut(start: float, end: float = float("inf")) -> Callable[[float], bool]:
    return lambda t: not start <= t < end


def test_healthy_idle_link_costs_at_most_one_keepalive_per_second() -> None:
    sim = Sim(LivenessConfig(), lambda t: True)
    sim.run(until=60)
    assert sim.changes == []
    assert 50 <= len(sim.sent) <= 60
    gaps = [b - a for a, b in zip(sim.sent, sim.sent[1:])]
    assert min(gaps) >= 1.0


@pytest.mark.parametrize("seed", range(5))
def test_healthy_keepalives_of_many_connections_share_grid_points(seed: int) -> None:
    # Connections selected at random moments: after the first keepalive, each
    # sends exactly one interval apart, all on the same grid points, so one
    # process wakes up a few times per second for all of them.
    config = LivenessConfig()
    rng = random.Random(seed)
    sims = []
    step = config.keepalive_interval / 10  # the default grid
    for _ in range(20):
        start = rng.uniform(0, 3)
        sim = Sim(config, lambda t: True)
        sim.monitor = LivenessMonitor(config, now=start)
        sim.run(until=30)
        sims.append(sim)
        first = sim.sent[0] - start
        assert first == pytest.approx(config.keepalive_interval, abs=step / 2 + 1e-9)
    steady = {round(t, 9) for sim in sims for t in sim.sent[1:]}
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in steady)
    assert len({round(t % config.keepalive_interval, 6) for t in steady}) <= 10
    for sim in sims:
        assert sim.changes == []
        gaps = [b - a for a, b in zip(sim.sent[1:], sim.sent[2:])]
        assert gaps == pytest.approx([config.keepalive_interval] * len(gaps))


def test_short_intervals_keep_a_valid_default_grid() -> None:
    config = LivenessConfig(
        keepalive_interval=0.02,
        probe_after=0.03,
        probe_interval=0.005,
        disconnected_probe_interval=0.01,
        disconnected_timeout=0.1,
        failed_timeout=1,
    )
    sim = Sim(config, lambda t: True)
    sim.run(until=1)
    gaps = [b - a for a, b in zip(sim.sent[1:], sim.sent[2:])]
    assert gaps == pytest.approx([0.02] * len(gaps)) and len(gaps) > 40
    assert all(abs(t / 0.002 - round(t / 0.002)) < 1e-6 for t in sim.sent)


def test_inbound_traffic_alone_does_not_prove_the_path() -> None:
    # The remote's packets reach us but ours never reach it (a one-way cut):
    # nothing answers our keepalives, so the pair is disconnected all the same.
    config = LivenessConfig()
    sim = Sim(config, cut(10.0))
    sim.add_arrivals([i * 0.1 for i in range(1, 600)])  # remote sends 10 packets/s
    sim.run(until=59.9)
    (t1, s1, r1), (_, s2, _) = sim.changes
    assert (s1, s2) == ("disconnected", "failed")
    assert t1 == pytest.approx(max(t for t in sim.sent if t < 10.0) + RTT + 2.0)
    assert re.fullmatch(r"no answer for 2\.0 s \(last packet 0\.[01] s ago\)", r1)
    healthy = [t for t in sim.sent if t < 10.0]
    assert len(healthy) <= 10  # the healthy pace, whatever the inbound traffic


def test_a_packet_while_disconnected_triggers_a_probe_at_once() -> None:
    config = LivenessConfig()
    m = LivenessMonitor(config, now=0.0)
    for t in (1.0, 1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.5, 1.55, 1.6, 1.65, 1.7):
        m.handle_timer(t)
    m.handle_timer(2.0)
    events = []
    while (e := m.next_event()) is not None:
        events.append(e)
    assert (
        LivenessChanged(
            Liveness.DISCONNECTED, "no answer for 2.0 s (last packet 2.0 s ago)"
        )
        in events
    )
    m.packet_received(2.1)
    assert m.next_event() == KeepaliveDue()
    m.packet_received(2.11)  # rate-limited: one probe per probe_interval
    assert m.next_event() is None
    m.answer_received(2.102)
    assert m.next_event() == LivenessChanged(
        Liveness.ALIVE, "answers again after 2.1 s"
    )


def test_silent_cut_gives_disconnected_at_the_timeout_then_failed() -> None:
    config = LivenessConfig()
    sim = Sim(config, cut(10.0))
    sim.run(until=40)
    (t1, s1, r1), (t2, s2, r2) = sim.changes
    last_answer = max(t for t in sim.sent if t < 10.0) + RTT
    assert s1 == "disconnected"
    assert t1 == pytest.approx(last_answer + config.disconnected_timeout)
    assert t1 - 10.0 <= 2.5  # the target, from the cut
    assert r1 == "no answer for 2.0 s (last packet 2.0 s ago)"
    assert s2 == "failed"
    assert t2 == pytest.approx(last_answer + config.failed_timeout)
    assert "consent expired" in r2
    # RFC 7675: nothing is sent once failed, and the monitor needs no timer
    assert max(sim.sent) < t2
    assert sim.monitor.get_timer() is None


def test_probing_speeds_up_only_while_silent() -> None:
    config = LivenessConfig()
    sim = Sim(config, cut(10.0))
    sim.run(until=10.0 + config.disconnected_timeout)
    during = [t for t in sim.sent if t > 10.0]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert gaps and max(gaps) <= config.keepalive_interval
    assert min(gaps) == pytest.approx(config.probe_interval)


def test_restore_gives_alive_within_half_a_second() -> None:
    config = LivenessConfig()
    sim = Sim(config, cut(10.0, 18.0))
    sim.run(until=30)
    states = [s for _, s, _ in sim.changes]
    assert states == ["disconnected", "alive"]
    t_back = sim.changes[1][0]
    assert 18.0 < t_back <= 18.5
    assert sim.changes[1][2].startswith("answers again after")


def test_packets_after_failed_change_nothing() -> None:
    sim = Sim(LivenessConfig(disconnected_timeout=2, failed_timeout=4), cut(1.0))
    sim.run(until=10)
    assert [s for _, s, _ in sim.changes] == ["disconnected", "failed"]
    sim.monitor.packet_received(11)
    sim.monitor.answer_received(11)
    sim.monitor.handle_timer(12)
    assert sim.monitor.next_event() is None
    assert sim.monitor.liveness == "failed"


@pytest.mark.parametrize("seed", range(40))
def test_thirty_percent_loss_both_ways_gives_no_false_disconnect(seed: int) -> None:
    rng = random.Random(seed)
    sim = Sim(LivenessConfig(), lambda t: rng.random() >= 0.3)
    sim.run(until=30)
    assert sim.changes == []
    assert len(sim.sent) / 30 < 10  # probing stays bounded under loss


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keepalive_interval": 0}, "keepalive_interval must be positive"),
        ({"failed_timeout": float("inf")}, "failed_timeout must be positive"),
        ({"probe_interval": "fast"}, "probe_interval must be a number"),
        ({"disconnected_timeout": True}, "must be a number"),
        ({"disconnected_timeout": 20}, "need keepalive_interval < probe_after"),
        ({"probe_after": 0.5}, "need keepalive_interval < probe_after"),
        ({"probe_interval": 2}, "probe_interval .* must not exceed"),
        ({"keepalive_grid": 1.5}, "keepalive_grid .* must not exceed"),
        ({"keepalive_grid": 0}, "keepalive_grid must be positive"),
    ],
)
def test_config_is_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LivenessConfig(**kwargs)  # type: ignore[arg-type]


def test_a_blocked_loop_is_not_silence() -> None:
    config = LivenessConfig()
    m = LivenessMonitor(config, now=0.0)
    m.answer_received(0.5)
    # the loop blocks from 0.6 to 3.6: the timer due at 1.5 fires at 3.6
    assert m.get_timer() == pytest.approx(1.5)
    m.handle_timer(3.6)
    assert m.next_event() == KeepaliveDue()  # asks the remote at once
    assert m.next_event() is None
    assert m.liveness == "alive"
    m.answer_received(3.602)
    for _ in range(100):
        timer = m.get_timer()
        assert timer is not None
        if timer > 6:
            break
        m.handle_timer(timer)
        if isinstance(m.next_event(), KeepaliveDue):
            m.answer_received(timer + RTT)
    assert m.liveness == "alive"


def test_a_blocked_loop_with_a_dead_peer_still_ends_disconnected() -> None:
    config = LivenessConfig()
    sim = Sim(config, cut(0.7))
    sim.monitor.answer_received(0.5)
    sim.monitor.handle_timer(3.6)  # stalled
    sim.run(until=10)
    states = [(round(t, 2), s) for t, s, _ in sim.changes]
    assert states[0][1] == "disconnected"
    assert states[0][0] <= 3.6 + config.disconnected_timeout


@given(
    keepalive=st.floats(0.01, 5),
    gaps=st.lists(st.floats(0.001, 20), max_size=20),
    scale=st.floats(1.01, 4),
    grid=st.floats(1, 1000),
)
def test_every_timer_makes_progress(
    keepalive: float, gaps: list[float], scale: float, grid: float
) -> None:
    # After handle_timer(t) the next timer is later than t (or none): no busy loop,
    # whatever the timers and however packets arrive.
    config = LivenessConfig(
        keepalive_interval=keepalive,
        probe_after=keepalive * scale,
        probe_interval=keepalive / 3,
        disconnected_probe_interval=keepalive / 2,
        disconnected_timeout=keepalive * scale * scale,
        failed_timeout=keepalive * scale**3 + 1,
        keepalive_grid=keepalive / grid,
    )
    m = LivenessMonitor(config, now=0.0)
    arrivals = list(itertools.accumulate(gaps))
    for _ in range(5000):
        timer = m.get_timer()
        if timer is None:
            assert m.liveness == "failed"
            return
        if arrivals and arrivals[0] <= timer:
            at = arrivals.pop(0)
            (m.answer_received if int(at * 1000) % 2 else m.packet_received)(at)
            while m.next_event() is not None:
                pass
            continue
        m.handle_timer(timer)
        while m.next_event() is not None:
            pass
        following = m.get_timer()
        assert following is None or following > timer
    raise AssertionError("no failed verdict within 5000 timers")


def test_an_hour_of_flapping_keeps_the_monitor_bounded() -> None:
    import tracemalloc

    config = LivenessConfig()

    def flapping(t: float) -> bool:
        return t % 6.0 < 3.0  # up 3 s, down 3 s, for ever

    sim = Sim(config, flapping)
    tracemalloc.start()
    try:
        sim.run(until=3600)
        first_hour = tracemalloc.get_traced_memory()[0]
        changes_first_hour = len(sim.changes)
        sim.changes.clear()
        sim.sent.clear()
        sim.run(until=7200)
        second_hour = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # it really flapped: down and back up every 6 s
    assert changes_first_hour >= 2 * 550
    assert len(sim.changes) >= 2 * 550
    assert {s for _, s, _ in sim.changes} == {"disconnected", "alive"}
    # one timer at a time, no queued events, and no growth hour over hour
    assert sim.monitor.next_event() is None
    assert sim.monitor.get_timer() is not None
    assert second_hour - first_hour < 10_000


class TestChecksDeadline:
    """The checking phase's bound, on fake time."""

    def test_checks_fail_at_failed_timeout_and_only_once(self) -> None:
        from rtcstate.liveness import ChecksDeadline, LivenessChanged

        config = LivenessConfig()
        deadline = ChecksDeadline(config, 100.0)
        assert deadline.get_timer() == 100.0 + config.failed_timeout
        deadline.packet_received(101.0)  # no pair yet: nothing moves the bound
        deadline.answer_received(101.0)
        deadline.handle_timer(100.0 + config.failed_timeout - 0.001)
        assert deadline.next_event() is None
        deadline.handle_timer(100.0 + config.failed_timeout)
        assert deadline.next_event() == LivenessChanged(
            Liveness.FAILED,
            f"no working candidate pair after {config.failed_timeout:.1f} s of checks",
        )
        assert deadline.next_event() is None
        assert deadline.get_timer() is None
        deadline.handle_timer(1000.0)
        assert deadline.next_event() is None


def test_a_lost_path_is_disconnected_at_once_and_failed_on_time() -> None:
    """The local address of the pair went away: disconnected at that moment
    (with the reason given) and a probe at once; an answer still brings it
    back; otherwise failed when the silence says so."""
    config = LivenessConfig()
    monitor = LivenessMonitor(config, now=0.0)
    monitor.answer_received(3.0)
    monitor.path_lost(3.2, "local address 10.71.0.1 (wifi) went away")
    assert monitor.liveness is Liveness.DISCONNECTED
    events = [monitor.next_event(), monitor.next_event(), monitor.next_event()]
    assert events == [
        LivenessChanged(
            Liveness.DISCONNECTED, "local address 10.71.0.1 (wifi) went away"
        ),
        KeepaliveDue(),
        None,
    ]
    monitor.path_lost(3.3, "again")  # disconnected already: nothing
    assert monitor.next_event() is None
    assert monitor.get_timer() == pytest.approx(
        min(3.2 + config.disconnected_probe_interval, 3.0 + config.failed_timeout)
    )
    changes = []
    for _ in range(1000):  # every timer, on time, until failed (nothing answers)
        due = monitor.get_timer()
        if due is None:
            break
        monitor.handle_timer(due)
        changes += [
            e for e in iter(monitor.next_event, None) if isinstance(e, LivenessChanged)
        ]
    assert [c.liveness for c in changes] == [Liveness.FAILED], "nothing between"
    assert changes[0].reason.startswith(f"no answer for {config.failed_timeout:.1f} s")

    back = LivenessMonitor(config, now=0.0)
    back.path_lost(1.0, "local address 10.71.0.1 (wifi) went away")
    back.answer_received(1.05)  # the probe was answered: the path works after all
    assert back.liveness is Liveness.ALIVE
