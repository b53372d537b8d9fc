"""The ICE restart's phases and decisions (rtcstate._restart_state), on plain
values: no aiortc, no aioice, no loop (the I/O side: test_restart.py and
test_restart_faults.py, with real peers)."""

from __future__ import annotations

import pytest

from rtcstate._restart_state import Ending, RestartState


def began(remote_known: bool = False) -> RestartState:
    state = RestartState()
    state.begin("ICE restart (restartIce())", remote_known)
    return state


def test_a_new_state_has_no_restart() -> None:
    state = RestartState()
    assert (state.phase, state.events, state.generation) == (None, 0, 0)
    assert not (state.restarting or state.unproven or state.offered)


def test_a_restart_begins_checking_and_counts_an_event() -> None:
    state = began()
    assert state.restarting and state.phase == "checking"
    assert (state.events, state.detail) == (1, "ICE restart (restartIce())")
    assert state.awaiting_remote and state.generation == 0


def test_our_offer_waits_for_an_answer_with_new_credentials() -> None:
    state = began()
    state.offered = True
    assert state.answered(keeps_old=False, old_works=True) is Ending.CHECK
    assert not state.awaiting_remote and not state.offered
    assert state.restarting and state.events == 1  # no event: the checks run
    # a second answer (a renegotiation) changes nothing
    assert state.answered(keeps_old=True, old_works=True) is Ending.CHECK
    assert state.restarting and state.events == 1


@pytest.mark.parametrize(
    ("old_works", "ending", "phase"),
    [(True, Ending.PUT_BACK_OLD, None), (False, Ending.FAILED, "failed")],
)
def test_an_answer_with_the_old_credentials_abandons_the_restart(
    old_works: bool, ending: Ending, phase: str | None
) -> None:
    state = began()
    assert state.answered(keeps_old=True, old_works=old_works) is ending
    assert state.phase == phase and not state.restarting
    assert state.detail is not None and "old ICE credentials" in state.detail
    assert state.events == 2 and state.generation == 0


def test_a_remote_offer_brings_its_credentials_so_no_answer_is_awaited() -> None:
    state = began(remote_known=True)
    assert not state.awaiting_remote
    assert state.answered(keeps_old=True, old_works=True) is Ending.CHECK
    assert state.restarting


def test_checks_that_succeed_while_the_old_pair_works_keep_it_unproven() -> None:
    state = began()
    ending = state.succeeded("host 10.0.0.1:1 -> host 10.0.0.2:2", old_works=True)
    assert ending is Ending.KEEP_OLD
    assert state.unproven and state.phase is None and state.generation == 1
    assert (
        state.detail
        == "checks succeeded on new pair host 10.0.0.1:1 -> host 10.0.0.2:2"
    )
    # the remote's datagram on the new pair proves it, once
    assert state.proven() and not state.unproven
    assert not state.proven()
    assert state.events == 2  # proof is no event: the state does not move


def test_checks_that_succeed_after_the_old_pair_died_retire_it_at_once() -> None:
    state = began()
    assert state.succeeded("p", old_works=False) is Ending.RETIRE_OLD
    assert not state.unproven and not state.proven()


def test_an_unproven_pair_that_is_silent_goes_back_to_the_old_one() -> None:
    state = began()
    state.succeeded("p", old_works=True)
    assert state.silent("no answer for 2.0 s")
    assert not state.unproven and state.phase is None
    assert state.generation == 2  # liveness starts afresh, on the old pair
    assert state.detail == (
        "ICE restart abandoned: the remote did not take the new pair "
        "(no answer for 2.0 s); back on the old pair"
    )
    assert state.events == 3
    # a proven pair, or no restart, is not the restart's to judge
    assert not state.silent("again")
    assert not RestartState().silent("x")


@pytest.mark.parametrize(
    ("old_works", "ending", "phase"),
    [(True, Ending.PUT_BACK_OLD, None), (False, Ending.FAILED, "failed")],
)
def test_checks_that_fail_put_the_old_pair_back_only_if_it_works(
    old_works: bool, ending: Ending, phase: str | None
) -> None:
    state = began()
    detail = "ICE restart failed: no working candidate pair after 15 s of checks"
    assert state.abandoned(detail, old_works) is ending
    assert (state.phase, state.detail, state.generation) == (phase, detail, 0)


def test_consent_expiry_fails_a_restart_under_way_only() -> None:
    state = began()
    assert state.consent_expired()
    assert (
        state.phase == "failed"
        and state.detail == "ICE restart failed: consent expired"
    )
    assert not state.consent_expired()  # no restart under way any more
    assert not RestartState().consent_expired()


def test_a_new_restart_takes_an_unproven_pair_as_proven() -> None:
    state = began()
    state.succeeded("p", old_works=True)
    assert state.proven()  # the I/O side asks first: the old pair is retired
    state.begin("ICE restart (remote offer)", remote_known=True)
    assert state.restarting and not state.unproven and state.events == 3


def test_a_failed_transport_can_restart_again() -> None:
    state = began()
    state.abandoned("ICE restart failed: x", old_works=False)
    state.begin("ICE restart (recover())", remote_known=False)
    assert state.restarting and state.events == 3
    assert state.succeeded("p", old_works=False) is Ending.RETIRE_OLD
    assert state.phase is None and state.generation == 1
