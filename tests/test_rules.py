"""The pure rules, exhaustively, against a reference written apart from the table."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcstate import rules
from rtcstate.states import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    Liveness,
    PeerConnectionState,
)

ICE = [s.value for s in IceTransportState]
DTLS = [s.value for s in DtlsTransportState]


def reference_ice(states: tuple[str, ...], closed: bool) -> str:
    # Written from the webrtc-pc enum text, one sentence per branch, on purpose
    # without the rule table or sets.
    if closed:
        return "closed"
    if any(s == "failed" for s in states):
        return "failed"
    if any(s == "disconnected" for s in states):
        return "disconnected"
    if all(s in ("new", "closed") for s in states):
        return "new"
    if any(s in ("new", "checking") for s in states):
        return "checking"
    if all(s in ("completed", "closed") for s in states):
        return "completed"
    return "connected"


def reference_connection(
    ice: str, dtls: tuple[str, ...], closed: bool, literal: bool
) -> str:
    if closed:
        return "closed"
    if ice == "failed" or "failed" in dtls:
        return "failed"
    if ice == "disconnected":
        return "disconnected"
    if ice == "new" and all(d in ("new", "closed") for d in dtls):
        return "new"
    ice_up = ice == "connected" if literal else ice in ("connected", "completed")
    if ice_up and all(d in ("connected", "closed") for d in dtls):
        return "connected"
    return "connecting"


def multisets(values: list[str], most: int) -> list[tuple[str, ...]]:
    return [
        combo
        for size in range(most + 1)
        for combo in itertools.combinations_with_replacement(values, size)
    ]


ICE_SETS = multisets(ICE, 3)  # 120 multisets of up to three ICE transports
DTLS_SETS = multisets(DTLS, 3)  # 56 of up to three DTLS transports


def test_enumeration_covers_what_the_issue_asks() -> None:
    assert len(ICE_SETS) == 1 + 7 + 28 + 84
    assert len(DTLS_SETS) == 1 + 5 + 15 + 35


@pytest.mark.parametrize("closed", [False, True])
def test_ice_connection_state_matches_reference_for_every_combination(
    closed: bool,
) -> None:
    for ice in ICE_SETS:
        for order in {ice, tuple(reversed(ice))}:  # order never matters
            got = rules.ice_connection_state(order, closed=closed)
            assert got == reference_ice(ice, closed), (ice, closed)
            assert isinstance(got, IceConnectionState)


@pytest.mark.parametrize("literal", [False, True])
@pytest.mark.parametrize("closed", [False, True])
def test_connection_state_matches_reference_for_every_combination(
    closed: bool, literal: bool
) -> None:
    checked = 0
    for ice in ICE_SETS:
        aggregate = rules.ice_connection_state(ice, closed=closed)
        for dtls in DTLS_SETS:
            got = rules.connection_state(
                aggregate, dtls, closed=closed, w3c_literal=literal
            )
            want = reference_connection(
                reference_ice(ice, closed), dtls, closed, literal
            )
            assert got == want, (ice, dtls, closed, literal)
            checked += 1
    assert checked == 120 * 56


def test_every_value_is_reachable() -> None:
    seen_ice = {
        rules.ice_connection_state(i, closed=c) for i in ICE_SETS for c in (0, 1)
    }
    assert seen_ice == set(IceConnectionState)
    seen = {
        rules.connection_state(rules.ice_connection_state(i), d, closed=c)
        for i in ICE_SETS
        for d in DTLS_SETS
        for c in (False, True)
    }
    assert seen == set(PeerConnectionState)


class TestWhereSourcesDiffer:
    """states.md's table of W3C / libwebrtc / MDN differences."""

    def test_completed_ice_with_connected_dtls_is_connected_like_libwebrtc_and_mdn(
        self,
    ) -> None:
        assert rules.connection_state("completed", ["connected"]) == "connected"

    def test_the_w3c_text_read_literally_says_connecting(self) -> None:
        assert rules.connection_state("completed", ["connected"], w3c_literal=True) == (
            "connecting"
        )

    def test_completed_is_reported_when_its_definition_holds(self) -> None:
        kwargs = dict(has_remote_candidates=True, local_gathering_complete=True)
        assert rules.ice_transport_state(
            "completed", remote_end_of_candidates=True, **kwargs
        ) == ("completed")
        # without the remote's end-of-candidates, only connected (as libwebrtc)
        assert rules.ice_transport_state(
            "completed", remote_end_of_candidates=False, **kwargs
        ) == ("connected")

    def test_failed_is_terminal_without_an_ice_restart(self) -> None:
        for derived in IceTransportState:
            got = rules.next_ice_transport_state(IceTransportState.FAILED, derived)
            want = "closed" if derived == "closed" else "failed"
            assert got == want
        assert rules.reachable_connection_states("failed") == {"failed", "closed"}
        assert rules.reachable_ice_connection_states("failed") == {"failed", "closed"}

    def test_remote_hang_up_leaves_dtls_closed_and_the_connection_connected(
        self,
    ) -> None:
        assert rules.connection_state("connected", ["closed"]) == "connected"
        assert (
            rules.connection_state("connected", ["closed", "connected"]) == "connected"
        )

    def test_close_gives_closed_whatever_the_transports_say(self) -> None:
        for ice in ICE_SETS:
            assert rules.ice_connection_state(ice, closed=True) == "closed"
            assert (
                rules.connection_state("connected", ["failed"], closed=True) == "closed"
            )


class TestIceTransportState:
    BASE = dict(
        has_remote_candidates=True,
        local_gathering_complete=True,
        remote_end_of_candidates=False,
    )

    @pytest.mark.parametrize(
        ("native", "want"),
        [
            ("new", "new"),
            ("checking", "checking"),
            ("completed", "connected"),
            ("failed", "failed"),
            ("closed", "closed"),
        ],
    )
    def test_aiortc_states_map_to_w3c(self, native: str, want: str) -> None:
        assert rules.ice_transport_state(native, **self.BASE) == want

    def test_checking_without_remote_candidates_is_new(self) -> None:
        base = {**self.BASE, "has_remote_candidates": False}
        assert rules.ice_transport_state("checking", **base) == "new"

    @pytest.mark.parametrize(
        ("liveness", "want"),
        [
            ("alive", "connected"),
            ("disconnected", "disconnected"),
            ("failed", "failed"),
        ],
    )
    def test_liveness_overrides_a_connected_transport(
        self, liveness: str, want: str
    ) -> None:
        assert (
            rules.ice_transport_state("completed", liveness=liveness, **self.BASE)
            == want
        )

    @pytest.mark.parametrize("native", ["new", "checking", "failed", "closed"])
    def test_liveness_is_ignored_before_a_pair_is_in_use(self, native: str) -> None:
        alive = rules.ice_transport_state(native, **self.BASE)
        for liveness in Liveness:
            assert (
                rules.ice_transport_state(native, liveness=liveness, **self.BASE)
                == alive
            )

    def test_unknown_native_state_is_a_clear_error(self) -> None:
        with pytest.raises(ValueError, match="'connected' is not one of"):
            rules.ice_transport_state("connected", **self.BASE)

    def test_a_pair_found_without_a_signalled_candidate_reads_checking_first(
        self,
    ) -> None:
        # a peer-reflexive remote: aiortc says checking (derived: new, no
        # remote candidate), then completed; W3C counts the prflx candidate
        step = rules.next_ice_transport_state
        for derived in ("connected", "completed", "disconnected"):
            got = step(IceTransportState.NEW, IceTransportState(derived))
            assert got == "checking", derived
        assert step(IceTransportState.NEW, IceTransportState.FAILED) == "failed"
        walk = [IceTransportState.NEW]
        while walk[-1] != "completed":
            walk.append(step(walk[-1], IceTransportState.COMPLETED))
        assert walk == ["new", "checking", "connected", "completed"]

    def test_connected_comes_before_completed(self) -> None:
        step = rules.next_ice_transport_state
        assert (
            step(IceTransportState.CHECKING, IceTransportState.COMPLETED) == "connected"
        )
        assert step(IceTransportState.NEW, IceTransportState.COMPLETED) == "checking"
        assert (
            step(IceTransportState.CONNECTED, IceTransportState.COMPLETED)
            == "completed"
        )
        assert (
            step(IceTransportState.DISCONNECTED, IceTransportState.COMPLETED)
            == "completed"
        )


class TestBadInput:
    def test_ice_transport_state_value(self) -> None:
        with pytest.raises(ValueError, match="ICE transport state: 'up' is not one of"):
            rules.ice_connection_state(["connected", "up"])

    def test_dtls_state_value(self) -> None:
        with pytest.raises(ValueError, match="DTLS transport state: 'checking'"):
            rules.connection_state("connected", ["checking"])

    def test_ice_connection_value(self) -> None:
        with pytest.raises(
            ValueError, match="'connecting' is not an RTCIceConnectionState"
        ):
            rules.connection_state("connecting", [])


def test_reachability() -> None:
    assert rules.reachable_connection_states("closed") == {"closed"}
    assert rules.reachable_connection_states("disconnected") == set(PeerConnectionState)
    assert rules.reachable_ice_connection_states("closed") == {"closed"}
    assert rules.reachable_ice_connection_states("checking") == set(IceConnectionState)


# Per-transport moves that happen while the connection is open: rtcstate's ICE
# states (after rules.next_ice_transport_state) and aiortc's DTLS states. aiortc
# stops ICE transports only in close(); a DTLS transport closes when the remote
# hangs up or ICE fails, once connected; DTLS starts once ICE has a pair.
ICE_MOVES = {
    "new": ["checking", "failed"],
    "checking": ["connected", "failed"],
    "connected": ["completed", "disconnected", "failed"],
    "completed": ["disconnected", "failed"],
    "disconnected": ["connected", "completed", "failed"],
    "failed": [],
}
DTLS_MOVES = {
    "new": ["connecting"],
    "connecting": ["connected", "failed"],
    "connected": ["closed", "failed"],
    "closed": [],
    "failed": [],
}


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 3),
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 3)), max_size=30
    ),
)
def test_any_sequence_of_transport_moves_walks_the_state_graph(
    transports: int, moves: list[tuple[bool, int, int]]
) -> None:
    ice = ["new"] * transports
    dtls = ["new"] * transports
    previous = (rules.ice_connection_state(ice), None)
    previous_connection = rules.connection_state(previous[0], dtls)
    for is_ice, which, pick in moves:
        states, graph = (ice, ICE_MOVES) if is_ice else (dtls, DTLS_MOVES)
        index = which % transports
        options = graph[states[index]]
        if (
            not is_ice
            and states[index] == "new"
            and ice[index] not in ("connected", "completed")
        ):
            continue  # aiortc starts DTLS once ICE has a pair
        if not options:
            continue
        states[index] = options[pick % len(options)]
        ice_state = rules.ice_connection_state(ice)
        connection = rules.connection_state(ice_state, dtls)
        if ice_state != previous[0]:
            assert rules.is_valid_transition(
                "iceConnectionState", previous[0], ice_state
            ), (
                ice,
                dtls,
            )
        if connection != previous_connection:
            assert rules.is_valid_transition(
                "connectionState", previous_connection, connection
            ), (previous_connection, connection, ice, dtls)
        previous = (ice_state, None)
        previous_connection = connection


def test_graph_edges() -> None:
    assert rules.is_valid_transition("connectionState", "new", "connecting")
    assert not rules.is_valid_transition("connectionState", "new", "connected")
    assert not rules.is_valid_transition("connectionState", "failed", "connected")
    assert not rules.is_valid_transition("iceConnectionState", "closed", "new")
    assert all(
        "new" not in targets for targets in rules.CONNECTION_TRANSITIONS.values()
    )
    with pytest.raises(ValueError, match="unknown attribute"):
        rules.is_valid_transition("signalingState", "stable", "closed")


def test_an_ice_restart_in_the_derivation_and_the_graphs() -> None:
    from rtcstate.states import IceTransportState as T

    def derive(native: str, liveness: str, restart: str | None) -> T:
        return rules.ice_transport_state(
            native,
            has_remote_candidates=True,
            local_gathering_complete=True,
            remote_end_of_candidates=True,
            liveness=liveness,
            restart=restart,
        )

    # the old pair still has consent: connected (not completed: a new gathering)
    assert derive("completed", "alive", "checking") is T.CONNECTED
    # no working pair: checking, whatever the old one says
    assert derive("completed", "disconnected", "checking") is T.CHECKING
    assert derive("failed", "failed", "checking") is T.CHECKING
    assert derive("completed", "alive", "failed") is T.FAILED
    assert derive("closed", "alive", "checking") is T.CLOSED
    # failed is left only by a restart; closed never
    assert rules.next_ice_transport_state(T.FAILED, T.CHECKING) is T.FAILED
    assert (
        rules.next_ice_transport_state(T.FAILED, T.CHECKING, restarted=True)
        is T.CHECKING
    )
    assert (
        rules.next_ice_transport_state(T.CLOSED, T.CHECKING, restarted=True) is T.CLOSED
    )
    assert rules.is_valid_transition("connectionState", "failed", "connecting")
    assert rules.is_valid_transition("iceConnectionState", "failed", "checking")
    assert not rules.is_valid_transition("connectionState", "failed", "connected")
    # waiters still treat failed as final: a restart is the application's to start
    assert rules.reachable_connection_states("failed") == {"failed", "closed"}
