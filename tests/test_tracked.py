"""rtcstate._tracked.TrackedIce: what is kept of one ICE transport, and the one
complete snapshot a step reads from it. On real aiortc transports that are never
started (no packet is sent)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCIceCandidate, RTCIceGatherer, RTCIceTransport

from rtcstate._restart import IceRestart
from rtcstate._tracked import TrackedIce
from rtcstate._transport_liveness import TransportLiveness
from rtcstate.liveness import LivenessConfig
from rtcstate.states import Liveness


class Owner:
    """What a TransportLiveness and an IceRestart report to: recorded."""

    def __init__(self) -> None:
        self.told: list[tuple[str, Any]] = []

    def liveness_changed(self, transport: Any, liveness: Any, reason: Any) -> None:
        self.told.append(("liveness", liveness))

    def liveness_fault(self, transport: Any, exc: Exception) -> None:
        self.told.append(("fault", exc))

    def stop_sending(self, transport: Any) -> None:
        self.told.append(("stop", None))

    def selected_pair_changed(self, transport: Any) -> None:
        self.told.append(("switch", None))

    def round_trip(self, transport: Any, rtt: float) -> None:
        self.told.append(("rtt", rtt))

    def restart_changed(self, transport: Any) -> None:
        self.told.append(("restart", None))

    def keep(self, task: asyncio.Future[Any]) -> None:
        self.told.append(("task", task))


def tracked() -> TrackedIce:
    return TrackedIce(RTCIceTransport(RTCIceGatherer()), 0)


def test_a_new_transport_reads_as_aiortc_says_and_alive() -> None:
    snap = tracked().snapshot("ice#0 (mid 0)", ("d",))
    assert (snap.label, snap.native, snap.dtls) == ("ice#0 (mid 0)", "new", ("d",))
    assert not snap.has_remote_candidates and not snap.local_gathering_complete
    assert (snap.restart, snap.restarts, snap.restart_detail) == (None, 0, None)
    assert (snap.liveness, snap.liveness_reason) == (Liveness.ALIVE, None)


@pytest.mark.asyncio
async def test_a_remote_candidate_once_known_stays_known() -> None:
    one = tracked()
    await one.transport.addRemoteCandidate(
        RTCIceCandidate(
            component=1,
            foundation="1",
            ip="127.0.0.1",
            port=9,
            priority=1,
            protocol="udp",
            type="host",
            sdpMid="0",
        )
    )
    assert one.snapshot("ice#0", ()).has_remote_candidates
    assert one.snapshot("ice#0", ()).has_remote_candidates  # asked once only


@pytest.mark.asyncio
async def test_the_snapshot_carries_the_verdict_of_its_own_generation_only() -> None:
    one, owner = tracked(), Owner()
    one.liveness = TransportLiveness(one.transport, LivenessConfig(), owner, 0)
    # as its monitor's verdict leaves it
    one.liveness.verdict = Liveness.DISCONNECTED
    one.liveness.reason = "no answer for 2.0 s"
    snap = one.snapshot("ice#0", ())
    assert (snap.liveness, snap.liveness_reason) == (
        Liveness.DISCONNECTED,
        "no answer for 2.0 s",
    )
    # a restart succeeded: a new pair, which that verdict says nothing of
    one.restart = IceRestart(one.transport, "auto", owner, 15.0)
    one.restart.state.succeeded("p", old_works=False)
    assert one.generation == 1
    snap = one.snapshot("ice#0", ())
    assert (snap.liveness, snap.liveness_reason) == (Liveness.ALIVE, None)
    assert (snap.restarts, snap.restart_detail) == (1, "checks succeeded on new pair p")
    one.close()
    assert one.liveness is None and one.restart is None


def test_nothing_is_selected_before_aioice_nominates_a_pair() -> None:
    one = tracked()
    assert one.newly_selected("ice#0", 0.0) is None
    assert (one.selected, one.selections, one.tap) == (None, 0, None)
