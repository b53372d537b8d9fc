"""Prometheus metrics of rtcstate connections (the optional extra
`rtcstate[prometheus]`).

[`ConnectionCollector`][rtcstate.metrics.ConnectionCollector] is a custom collector
of `prometheus_client` (a `Collector` whose `collect()` yields metric families):
nothing is registered anywhere until the application registers it. It covers the
connections given to [`add`][rtcstate.metrics.ConnectionCollector.add], or, with
`all_connections=True`, every rtcstate connection of the process. It holds them
weakly: a connection it covers is garbage-collected as if it did not exist.

Everything is fed as it happens by a small observer on each connection (told of
its changes, its liveness verdicts, its keepalives' round trips and its selected
pairs): counters and histograms into totals the collector keeps, so that a
connection that closed and was garbage-collected between two scrapes still counts
(reading the histories at scrape time would miss it, and would cost more the longer
the process ran); the gauges into the observer, which the scrape reads. A scrape
therefore touches no aiortc or aioice object, and may run on any thread.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Iterable, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ._events import SelectedCandidatePair, StateChange, TransportChange
from ._frontend import StateAPI, follow_new_connections, live_connections
from .states import Liveness, PeerConnectionState

__all__ = [
    "CANDIDATE_TYPES",
    "CAUSE_KINDS",
    "DETECTION_DELAY_BUCKETS",
    "DISCONNECTED_BUCKETS",
    "RTT_BUCKETS",
    "TIME_TO_CONNECTED_BUCKETS",
    "ConnectionCollector",
]

TIME_TO_CONNECTED_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds, in seconds, of `rtcstate_time_to_connected_seconds`."""
DISCONNECTED_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 300.0)
"""Upper bounds, in seconds, of `rtcstate_disconnected_seconds`."""
_OUTAGE_ENDS = frozenset({"connected", "failed", "closed"})
"""The states that end an outage, the `outcome` of `rtcstate_disconnected_seconds`."""
DETECTION_DELAY_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Upper bounds, in seconds, of `rtcstate_detection_delay_seconds`."""
RTT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Upper bounds, in seconds, of `rtcstate_selected_pair_rtt_seconds`."""
CAUSE_KINDS = ("ice", "liveness", "dtls", "transports", "close")
"""The values of the `cause` label of `rtcstate_connection_state_transitions_total`:
a [`Cause`][rtcstate.Cause]'s `kind`, with `"liveness"` for an ICE transport's change
that rtcstate's liveness verdict made (no answer to its keepalives, or answers
again), where `"ice"` is one that aiortc reported."""
CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")
"""`RTCIceCandidateType`, the values of the `local` and `remote` labels of
`rtcstate_selected_candidate_pairs`."""


class _Histogram:
    """Cumulative-ready bucket counts and a sum (a Prometheus histogram's data)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a bucket's bound is inclusive (le), as in Prometheus
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            running += count
            out.append((_bound(bound), running))
        out.append(("+Inf", running + self.counts[-1]))
        return out


def _bound(value: float) -> str:
    return repr(float(value))


class _Totals:
    """The counters and histograms of one collector, fed from the event loop's
    thread and read by scrapes, possibly from another thread (hence the lock;
    uncontended, it costs about 100 ns per observation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.transitions: dict[tuple[str, str, str], int] = {}
        self.time_to_connected = _Histogram(TIME_TO_CONNECTED_BUCKETS)
        self.disconnected: dict[str, _Histogram] = {}
        self.detection_delay = _Histogram(DETECTION_DELAY_BUCKETS)
        self.rtt = _Histogram(RTT_BUCKETS)


class _Follower:
    """Follows one connection's changes into the totals (an `observers.Observer`).

    It holds the totals, never the connection: the tracker holds it.
    """

    __slots__ = (
        "_connected",
        "_connecting_since",
        "_disconnected_since",
        "_totals",
        "_verdict_reason",
        "pairs",
        "state",
    )

    def __init__(
        self,
        totals: _Totals,
        history: list[StateChange],
        state: str = "new",
        pairs: Iterable[SelectedCandidatePair] = (),
    ) -> None:
        self._totals = totals
        self._verdict_reason: str | None = None
        self._connecting_since: float | None = None
        self._disconnected_since: float | None = None
        self._connected = False
        #: the connection's connectionState, and the candidate types of each ICE
        #: transport's selected pair: what the gauges count
        self.state = state
        self.pairs: dict[str, tuple[str, str]] = {}
        for pair in pairs:
            self.selected(pair)
        # where the connection is now: what a later change completes
        for change in history:
            if change.attribute == "connectionState":
                self._track(change)

    def changes(
        self, transport_changes: list[TransportChange], changes: list[StateChange]
    ) -> None:
        totals = self._totals
        for change in changes:
            if change.attribute != "connectionState":
                continue
            cause = change.cause
            kind: str = cause.kind
            if (
                kind == "ice"
                and cause.detail is not None
                and cause.detail == self._verdict_reason
            ):
                kind = "liveness"
            previous, current = str(change.previous), str(change.current)
            connecting_since = self._connecting_since
            disconnected_since = self._disconnected_since
            with totals.lock:
                key = (previous, current, kind)
                totals.transitions[key] = totals.transitions.get(key, 0) + 1
                if (
                    current == "connected"
                    and not self._connected
                    and connecting_since is not None
                ):
                    totals.time_to_connected.observe(change.time - connecting_since)
                if disconnected_since is not None and current in _OUTAGE_ENDS:
                    histogram = totals.disconnected.get(current)
                    if histogram is None:
                        histogram = totals.disconnected[current] = _Histogram(
                            DISCONNECTED_BUCKETS
                        )
                    histogram.observe(change.time - disconnected_since)
            self._track(change)

    def _track(self, change: StateChange) -> None:
        current = change.current
        self.state = str(current)
        if current is PeerConnectionState.CLOSED:
            self.pairs = {}  # a closed connection has no selected pair
        if current is PeerConnectionState.CONNECTING and not self._connected:
            self._connecting_since = self._connecting_since or change.time
        elif current is PeerConnectionState.CONNECTED:
            self._connected = True
        # an outage lasts until the connection is back (or lost for good): an ICE
        # restart's connecting (recover() makes one) is still part of it
        if current is PeerConnectionState.DISCONNECTED:
            self._disconnected_since = self._disconnected_since or change.time
        elif current in _OUTAGE_ENDS:
            self._disconnected_since = None

    def verdict(
        self, liveness: Liveness, reason: str | None, silence: float | None
    ) -> None:
        # the step this verdict causes carries its reason as the cause's detail
        self._verdict_reason = reason
        if liveness is Liveness.DISCONNECTED and silence is not None:
            with self._totals.lock:
                self._totals.detection_delay.observe(silence)

    def round_trip(self, rtt: float) -> None:
        with self._totals.lock:
            self._totals.rtt.observe(rtt)

    def selected(self, pair: SelectedCandidatePair) -> None:
        # a new dict, not a change to the one a scrape may be reading
        types = (pair.local.candidate_type, pair.remote.candidate_type)
        self.pairs = {**self.pairs, pair.transport: types}


class ConnectionCollector(Collector):
    """A Prometheus custom collector of rtcstate connections.

    Register it with a registry of `prometheus_client`'s, for example
    `prometheus_client.REGISTRY.register(collector)`; it registers nothing
    itself. It yields:

    - `rtcstate_connections{state}`, gauge: connections by `connectionState`;
    - `rtcstate_connection_state_transitions_total{from,to,cause}`, counter:
      changes of `connectionState`, `cause` one of `CAUSE_KINDS`;
    - `rtcstate_time_to_connected_seconds`, histogram: from `connecting` to the
      first `connected`;
    - `rtcstate_disconnected_seconds{outcome}`, histogram: how long each outage
      lasted, from `disconnected` to the state that ended it (`connected`,
      `failed` or `closed`); an ICE restart's `connecting` on the way back
      (as [`recover`][rtcstate.recover] makes) is part of the outage;
    - `rtcstate_detection_delay_seconds`, histogram: from the last datagram
      received on an ICE transport's selected pair to rtcstate's `disconnected`
      verdict for it;
    - `rtcstate_selected_pair_rtt_seconds`, histogram: the round trip of every
      answered keepalive (`currentRoundTripTime` as each answer sets it);
    - `rtcstate_selected_candidate_pairs{local,remote}`, gauge: the selected
      pairs by candidate type (`RTCIceCandidateType`).

    Counters and histograms count what happened from the moment a connection is
    covered, and keep counting it after the connection is gone.

    :param all_connections: cover every rtcstate connection of the process,
        those that exist now and those made later; otherwise only those given to
        [`add`][rtcstate.metrics.ConnectionCollector.add].
    """

    def __init__(self, *, all_connections: bool = False) -> None:
        self._all = all_connections
        self._totals = _Totals()
        # connection -> its follower, weakly: covering a connection never keeps
        # it alive
        self._followers: weakref.WeakKeyDictionary[StateAPI, _Follower] = (
            weakref.WeakKeyDictionary()
        )
        if all_connections:
            follow_new_connections(self.add)
            for connection in live_connections():
                self.add(connection)

    def add(self, connection: StateAPI) -> None:
        """Cover `connection` (a [`PeerConnection`][rtcstate.PeerConnection] or a
        [`ConnectionWatcher`][rtcstate.ConnectionWatcher]) from now on."""
        if connection in self._followers:
            return
        follower = _Follower(
            self._totals,
            connection.state_history,
            connection.connectionState.value,
            connection._selected_pairs(),
        )
        with self._totals.lock:
            self._followers[connection] = follower
        connection._add_observer(follower)

    def remove(self, connection: StateAPI) -> None:
        """Stop covering `connection` (what it counted so far stays counted)."""
        with self._totals.lock:
            follower = self._followers.pop(connection, None)
        if follower is not None:
            connection._remove_observer(follower)

    @property
    def connections(self) -> list[StateAPI]:
        """The live connections covered."""
        # under the lock: a scrape thread's copy must not meet an add() of the
        # loop's (a garbage-collected key, though, waits for the copy to end)
        with self._totals.lock:
            return list(self._followers.keys())

    def describe(self) -> Iterable[Metric]:
        """The metric families, without samples (what a registry asks at
        registration, so that registering costs no scrape)."""
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        """The metric families with their samples: the gauges from the live
        connections' observers, the counters and histograms from the totals."""
        families = self._families()
        states = dict.fromkeys((s.value for s in PeerConnectionState), 0)
        pairs: dict[tuple[str, str], int] = {}
        with self._totals.lock:
            followers = list(self._followers.values())
        for follower in followers:
            states[follower.state] = states.get(follower.state, 0) + 1
            for key in follower.pairs.values():
                pairs[key] = pairs.get(key, 0) + 1
        gauge, transitions, connected, disconnected, delay, rtt, candidates = families
        for state, count in states.items():
            gauge.add_metric([state], count)
        for key, count in sorted(pairs.items()):
            candidates.add_metric(list(key), count)
        totals = self._totals
        with totals.lock:
            for key3, count in sorted(totals.transitions.items()):
                transitions.add_metric(list(key3), count)
            for family, histogram in (
                (connected, totals.time_to_connected),
                (delay, totals.detection_delay),
                (rtt, totals.rtt),
            ):
                family.add_metric([], histogram.buckets(), histogram.total)
            for outcome, histogram in sorted(totals.disconnected.items()):
                disconnected.add_metric([outcome], histogram.buckets(), histogram.total)
        return families

    def _families(
        self,
    ) -> tuple[
        GaugeMetricFamily,
        CounterMetricFamily,
        HistogramMetricFamily,
        HistogramMetricFamily,
        HistogramMetricFamily,
        HistogramMetricFamily,
        GaugeMetricFamily,
    ]:
        return (
            GaugeMetricFamily(
                "rtcstate_connections",
                "Connections by connectionState (RTCPeerConnectionState)",
                labels=["state"],
            ),
            CounterMetricFamily(
                "rtcstate_connection_state_transitions",
                "Changes of connectionState, by the state left, the state entered "
                "and the kind of cause",
                labels=["from", "to", "cause"],
            ),
            HistogramMetricFamily(
                "rtcstate_time_to_connected_seconds",
                "Time from connectionState connecting to the first connected",
            ),
            HistogramMetricFamily(
                "rtcstate_disconnected_seconds",
                "Time spent in connectionState disconnected, by the state that "
                "ended it",
                labels=["outcome"],
            ),
            HistogramMetricFamily(
                "rtcstate_detection_delay_seconds",
                "Time from the last datagram received on an ICE transport's "
                "selected pair to rtcstate's disconnected verdict",
            ),
            HistogramMetricFamily(
                "rtcstate_selected_pair_rtt_seconds",
                "Round-trip time of each answered keepalive on a selected "
                "candidate pair (currentRoundTripTime)",
            ),
            GaugeMetricFamily(
                "rtcstate_selected_candidate_pairs",
                "Selected candidate pairs, by local and remote candidate type",
                labels=["local", "remote"],
            ),
        )
