"""The pure state machine (rtcstate._machine), on plain values: snapshots in,
changes out, as h11 tests its ConnectionState. No aiortc, no loop, no clock."""

from __future__ import annotations

import pytest

from rtcstate._events import Cause
from rtcstate._machine import DtlsSnapshot, IceSnapshot, StateMachine, Step
from rtcstate.states import Liveness

SIGNAL = Cause("transports", detail="test")


Snaps = dict[str, IceSnapshot]


def ice(native: str, **kwargs: object) -> Snaps:
    return {"i": IceSnapshot("ice#0", native, **kwargs)}  # type: ignore[arg-type]


def dtls(native: str) -> dict[str, DtlsSnapshot]:
    return {"d": DtlsSnapshot("dtls#0", native)}


def moves(step: Step) -> list[tuple[str, str, str]]:
    return [(c.transport, c.previous, c.current) for c in step.transport_changes]


def changes(step: Step) -> list[tuple[str, str, str]]:
    return [(c.attribute, str(c.previous), str(c.current)) for c in step.changes]


def connected_machine() -> StateMachine:
    """A machine stepped to connected (ICE completed by aiortc, DTLS connected)."""
    machine = StateMachine()
    machine.step(ice("checking"), dtls("new"), SIGNAL, 1.0)
    machine.step(ice("completed"), dtls("connecting"), SIGNAL, 2.0)
    machine.step(ice("completed"), dtls("connected"), SIGNAL, 3.0)
    assert machine.connection_state == "connected"
    return machine


def test_a_new_machine_is_new_and_an_empty_step_changes_nothing() -> None:
    machine = StateMachine()
    assert machine.connection_state == machine.ice_connection_state == "new"
    assert machine.state("connectionState") == "new"
    step = machine.step({}, {}, SIGNAL, 0.0)
    assert step == Step()


def test_checking_without_a_remote_candidate_is_new_as_w3c_says() -> None:
    machine = StateMachine()
    step = machine.step(
        ice("checking", has_remote_candidates=False), dtls("new"), SIGNAL, 1.0
    )
    assert moves(step) == [] and changes(step) == []
    assert machine.ice_transport_state("i") == "new"


def test_a_connection_walks_checking_connected_completed_one_state_per_step() -> None:
    machine = StateMachine()
    step = machine.step(ice("checking"), dtls("new"), SIGNAL, 1.0)
    assert moves(step) == [("ice#0", "new", "checking")]
    # ICE first, then the connection; both caused by the transport's change
    assert changes(step) == [
        ("iceConnectionState", "new", "checking"),
        ("connectionState", "new", "connecting"),
    ]
    assert all(c.cause.transport == "ice#0" for c in step.changes)
    assert all(c.time == 1.0 for c in [*step.changes, *step.transport_changes])

    done = ice(
        "completed", local_gathering_complete=True, remote_end_of_candidates=True
    )
    step = machine.step(done, dtls("connected"), SIGNAL, 2.0)
    # completed is split: connected now, completed in a follow-up step
    assert step.followup
    assert moves(step) == [
        ("ice#0", "checking", "connected"),
        ("dtls#0", "new", "connected"),
    ]
    assert changes(step) == [
        ("iceConnectionState", "checking", "connected"),
        ("connectionState", "connecting", "connected"),
    ]
    step = machine.step(done, dtls("connected"), Cause("ice", detail="follow-up"), 2.1)
    assert not step.followup
    assert moves(step) == [("ice#0", "connected", "completed")]
    assert changes(step) == [("iceConnectionState", "connected", "completed")]


def test_a_peer_reflexive_remote_reads_checking_before_connected() -> None:
    machine = StateMachine()
    step = machine.step(ice("completed"), dtls("new"), SIGNAL, 1.0)
    assert step.followup
    assert moves(step) == [("ice#0", "new", "checking")]
    step = machine.step(ice("completed"), dtls("new"), SIGNAL, 1.1)
    assert moves(step) == [("ice#0", "checking", "connected")]


def verdict(liveness: Liveness, reason: str, native: str = "completed") -> Snaps:
    """An ICE snapshot carrying a liveness verdict."""
    return ice(native, liveness=liveness, liveness_reason=reason)


def test_a_new_verdict_is_a_change_whose_reason_is_the_cause() -> None:
    machine = connected_machine()
    gone = verdict(Liveness.DISCONNECTED, "no packet for 1.5 s")
    step = machine.step(gone, dtls("connected"), SIGNAL, 5.0)
    assert moves(step) == [("ice#0", "connected", "disconnected")]
    assert step.transport_changes[0].detail == "no packet for 1.5 s"
    assert changes(step)[-1] == ("connectionState", "connected", "disconnected")
    assert step.changes[-1].cause.detail == "no packet for 1.5 s"

    # the same verdict again is no news
    assert machine.step(gone, dtls("connected"), SIGNAL, 5.5) == Step()
    back = verdict(Liveness.ALIVE, "answers again after 2.0 s")
    step = machine.step(back, dtls("connected"), SIGNAL, 6.0)
    assert step.transport_changes[0].detail == "answers again after 2.0 s"
    # the reason was consumed: a later change says what aiortc reports
    step = machine.step(ice("failed"), dtls("connected"), SIGNAL, 7.0)
    assert step.transport_changes[0].detail == "aiortc: failed"


def test_a_reason_waits_for_the_change_it_explains() -> None:
    machine = connected_machine()
    # failed liveness with aiortc still completed: the transport fails at once
    failed = verdict(Liveness.FAILED, "no pair after 15.0 s of checks")
    step = machine.step(failed, dtls("connected"), SIGNAL, 4.0)
    assert moves(step) == [("ice#0", "connected", "failed")]
    assert step.transport_changes[0].detail == "no pair after 15.0 s of checks"


@pytest.mark.parametrize("by_remote", [True, False])
def test_a_remote_hang_up_is_told_apart_in_the_changes(by_remote: bool) -> None:
    machine = StateMachine()
    snap = {"i": IceSnapshot("ice#0", "checking", dtls=("d",))}
    machine.step(snap, dtls("connected"), SIGNAL, 1.0)
    snap = {"i": IceSnapshot("ice#0", "completed", dtls=("d",))}
    machine.step(snap, dtls("connected"), SIGNAL, 2.0)
    closed = {"d": DtlsSnapshot("dtls#0", "closed", remote_hangup=by_remote)}
    step = machine.step(snap, closed, SIGNAL, 3.0)
    (change,) = step.transport_changes
    assert (change.current, change.remote_hangup) == ("closed", by_remote)
    assert change.detail == ("closed by the remote" if by_remote else None)
    assert changes(step) == []  # a closed DTLS transport still counts as connected
    gone = {
        "i": IceSnapshot(
            "ice#0",
            "completed",
            dtls=("d",),
            liveness=Liveness.DISCONNECTED,
            liveness_reason="no answer for 2.0 s",
        )
    }
    step = machine.step(gone, closed, SIGNAL, 4.0)
    assert step.transport_changes[0].detail == (
        "no answer for 2.0 s, after the remote closed DTLS"
        if by_remote
        else "no answer for 2.0 s"
    )


def test_liveness_off_is_recorded_even_though_the_state_stays() -> None:
    # switched off: the verdict is alive again (aiortc's rules), and a note says why
    machine = connected_machine()
    gone = verdict(Liveness.DISCONNECTED, "no packet for 1.5 s")
    machine.step(gone, dtls("connected"), SIGNAL, 4.0)
    machine.note("i", "liveness off: internal error (X: y)")
    step = machine.step(ice("completed"), dtls("connected"), SIGNAL, 5.0)
    # back to aiortc's view (connected), with the reason as the detail
    assert moves(step) == [("ice#0", "disconnected", "connected")]
    assert step.transport_changes[0].detail == "liveness off: internal error (X: y)"

    machine = connected_machine()
    machine.note("i", "liveness off: internal error (X: y)")
    step = machine.step(ice("completed"), dtls("connected"), SIGNAL, 5.0)
    assert moves(step) == [("ice#0", "connected", "connected")]
    assert changes(step) == []
    # recorded once; the reason is consumed like a change's
    step = machine.step(ice("failed"), dtls("connected"), SIGNAL, 6.0)
    assert step.transport_changes[0].detail == "aiortc: failed"


def test_failed_is_terminal_until_closed() -> None:
    machine = connected_machine()
    machine.step(ice("failed"), dtls("connected"), SIGNAL, 4.0)
    step = machine.step(ice("completed"), dtls("connected"), SIGNAL, 5.0)
    assert moves(step) == [] and machine.ice_transport_state("i") == "failed"
    step = machine.step(ice("closed"), dtls("closed"), SIGNAL, 6.0)
    assert ("ice#0", "failed", "closed") in moves(step)


def test_a_note_for_an_unknown_transport_is_ignored() -> None:
    machine = connected_machine()
    machine.note("missing", "ignored")
    assert machine.ice_transport_state("missing") is None
    step = machine.step(ice("completed"), dtls("connected"), SIGNAL, 4.0)
    assert step == Step()


def test_a_transport_missing_from_a_step_is_forgotten() -> None:
    machine = StateMachine()
    snaps = {
        "a": IceSnapshot("ice#0", "checking"),
        "b": IceSnapshot("ice#1", "failed"),
    }
    machine.step(snaps, {}, SIGNAL, 1.0)
    assert machine.ice_connection_state == "failed"
    step = machine.step({"a": snaps["a"]}, {}, Cause("transports"), 2.0)
    assert machine.ice_transport_state("b") is None
    # no transport moved: the step's own cause explains the changes
    assert changes(step) == [
        ("iceConnectionState", "failed", "checking"),
        ("connectionState", "failed", "connecting"),
    ]
    assert all(c.cause == Cause("transports") for c in step.changes)


def test_close_makes_both_closed_once_and_ends_every_later_step() -> None:
    machine = connected_machine()
    closed = machine.close(9.0)
    assert [(c.attribute, str(c.current), c.cause.kind) for c in closed] == [
        ("iceConnectionState", "closed", "close"),
        ("connectionState", "closed", "close"),
    ]
    assert all(c.time == 9.0 for c in closed)
    assert machine.closed
    assert machine.close(10.0) == []
    assert machine.step(ice("checking"), dtls("new"), SIGNAL, 11.0) == Step()
    assert machine.connection_state == "closed"
    assert machine.ice_transport_state("i") is None


# --- ICE restart --------------------------------------------------------------------


def test_a_restart_moves_failed_to_checking_then_connected_with_its_causes() -> None:
    machine = connected_machine()
    expired = verdict(Liveness.FAILED, "consent expired")
    machine.step(expired, dtls("connected"), SIGNAL, 4.0)
    # aioice's connection closed: aiortc reads failed; nothing leaves failed...
    expired = verdict(Liveness.FAILED, "consent expired", "failed")
    step = machine.step(expired, dtls("connected"), SIGNAL, 5.0)
    assert machine.connection_state == "failed" and changes(step) == []
    # ...but a restart
    began = ice(
        "failed",
        restart="checking",
        restarts=1,
        restart_detail="ICE restart (x)",
        liveness=Liveness.FAILED,
        liveness_reason="consent expired",
    )
    step = machine.step(began, dtls("connected"), SIGNAL, 6.0)
    assert moves(step) == [("ice#0", "failed", "checking")]
    assert step.transport_changes[0].detail == "ICE restart (x)"
    assert changes(step) == [
        ("iceConnectionState", "failed", "checking"),
        ("connectionState", "failed", "connecting"),
    ]
    assert step.changes[1].cause.detail == "ICE restart (x)"
    # the same snapshot again records nothing more
    assert machine.step(began, dtls("connected"), SIGNAL, 6.5) == Step()
    # the new pair works: a new generation, whose liveness starts alive
    done = ice("completed", restarts=2, restart_detail="checks succeeded")
    step = machine.step(done, dtls("connected"), SIGNAL, 7.0)
    assert moves(step) == [("ice#0", "checking", "connected")]
    assert step.transport_changes[0].detail == "checks succeeded"
    assert machine.connection_state == "connected"


def test_a_restart_while_the_old_pair_works_changes_no_state_but_is_recorded() -> None:
    machine = connected_machine()
    began = ice("completed", restart="checking", restarts=1, restart_detail="ICE r")
    step = machine.step(began, dtls("connected"), SIGNAL, 4.0)
    assert moves(step) == [("ice#0", "connected", "connected")]
    assert step.transport_changes[0].detail == "ICE r" and changes(step) == []
    # the old pair lost meanwhile: checking (no working pair), not disconnected
    lost = ice(
        "completed",
        restart="checking",
        restarts=1,
        restart_detail="ICE r",
        liveness=Liveness.DISCONNECTED,
        liveness_reason="no answer",
    )
    step = machine.step(lost, dtls("connected"), SIGNAL, 5.0)
    assert moves(step) == [("ice#0", "connected", "checking")]
    assert machine.connection_state == "connecting"


def test_a_failed_restart_reads_failed_and_a_note_is_recorded() -> None:
    machine = connected_machine()
    began = ice(
        "completed",
        restart="checking",
        restarts=1,
        restart_detail="r",
        liveness=Liveness.DISCONNECTED,
        liveness_reason="no answer",
    )
    machine.step(began, dtls("connected"), SIGNAL, 4.0)
    failed = ice("completed", restart="failed", restarts=2, restart_detail="no")
    step = machine.step(failed, dtls("connected"), SIGNAL, 5.0)
    assert moves(step) == [("ice#0", "checking", "failed")]
    assert machine.connection_state == "failed"
    machine.note("i", "recovery attempt 1 of 3: failed")
    step = machine.step(failed, dtls("connected"), SIGNAL, 6.0)
    assert moves(step) == [("ice#0", "failed", "failed")]
    assert step.transport_changes[0].detail == "recovery attempt 1 of 3: failed"
