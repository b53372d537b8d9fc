"""What every row of the path matrix must meet (docs/networks.md), with rtcstate's
default liveness timers, and the checks that hold a row to it.

tests/test_turn.py (TURN) and tests/test_ipv6.py (IPv6, in namespaces) use
these; each times its outage from the moment the path goes silent.
"""

from __future__ import annotations

import rtcstate

IDLE = 30.0  # with data both ways, and no state change
DISCONNECTED_WITHIN = 2.5  # of the path going silent
CONNECTED_WITHIN = 1.0  # of the path returning
FAILED_AT = 15.0  # after the path went silent for good, +- FAILED_TOLERANCE
FAILED_TOLERANCE = 1.0
# Silence is counted from the last answer, which came up to one keepalive
# interval (1 s, plus the grid's half step) before the outage: failed lands 14
# to 15 s after it, so the lower edge gets that much more room.
FAILED_EARLY = FAILED_TOLERANCE + 0.1
# Both verdicts count from the same last answer, so their gap is exact.
FAILED_GAP = (
    rtcstate.LivenessConfig().failed_timeout
    - rtcstate.LivenessConfig().disconnected_timeout
)
GAP_TOLERANCE = 0.3


def outage_problems(gone: float | None, back: float | None) -> list[str]:
    """What is wrong with a short outage: ``gone`` is when ``disconnected``
    came after the path went silent, ``back`` when ``connected`` came after
    it returned (``None``: never)."""
    problems = []
    if gone is None or gone > DISCONNECTED_WITHIN:
        problems.append(f"disconnected after {gone} s (target {DISCONNECTED_WITHIN} s)")
    if back is None or back > CONNECTED_WITHIN:
        problems.append(f"connected again after {back} s (target {CONNECTED_WITHIN} s)")
    return problems


def lasting_outage_problems(gone: float | None, failed: float | None) -> list[str]:
    """What is wrong with an outage that lasts: ``gone`` and ``failed`` are
    when those states came after the path went silent."""
    problems = []
    # The path may have gone silent before the outage began: on a loaded
    # machine the relay can stall a second beforehand. Disconnected, which
    # counts from the same last answer, tells how much earlier; the edge moves
    # by that (the gap between the two verdicts is still checked exactly below).
    usual = rtcstate.LivenessConfig().disconnected_timeout - FAILED_EARLY
    earlier = max(0.0, usual + GAP_TOLERANCE - gone) if gone is not None else 0.0
    if failed is None or not (
        FAILED_AT - FAILED_EARLY - earlier <= failed <= FAILED_AT + FAILED_TOLERANCE
    ):
        problems.append(
            f"failed after {failed} s (target {FAILED_AT} +- {FAILED_TOLERANCE} s)"
        )
    if gone is None or (failed is not None and gone > failed):
        problems.append("was not disconnected before failed")
    elif failed is not None and abs(failed - gone - FAILED_GAP) > GAP_TOLERANCE:
        problems.append(
            f"failed {failed - gone:.2f} s after disconnected "
            f"(the timers say {FAILED_GAP} s)"
        )
    return problems


def connection_states(pc: rtcstate.PeerConnection) -> list[tuple[float, str]]:
    """(loop time, value) of each ``connectionState`` change in ``pc``'s history."""
    return [
        (change.time, str(change.current))
        for change in pc.state_history
        if change.attribute == "connectionState"
    ]
