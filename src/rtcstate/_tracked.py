"""One counted ICE transport, and everything rtcstate keeps of it.

A [`TrackedIce`][rtcstate._tracked.TrackedIce] owns each fact about its transport
once: the subscription to aiortc's events, the pair last reported selected, the
liveness (whose driver holds the tap on the selected pair, and with it the
time the last datagram arrived) and the ICE restarts. A step asks it for one
complete [`IceSnapshot`][rtcstate._machine.IceSnapshot]: aiortc's state, the
restart's phase and the liveness verdict together, built once and never patched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport

from . import _shims, stats
from ._events import SelectedCandidatePair
from ._machine import IceSnapshot
from ._restart import IceRestart
from ._tap import SelectedPair
from ._transport_liveness import LivenessOwner, TransportLiveness
from .liveness import LivenessConfig
from .states import IceTransportState, Liveness

__all__ = ["TrackedIce"]

Listeners = list[tuple[Any, Callable[[], None]]]


class TrackedIce:
    """One counted ICE transport.

    :param transport: aiortc's ICE transport.
    :param index: its number in the connection (`ice#0`), in the order counted.
    """

    __slots__ = (
        "_has_remote_candidates",
        "index",
        "listeners",
        "liveness",
        "restart",
        "selected",
        "selections",
        "transport",
    )

    def __init__(self, transport: RTCIceTransport, index: int) -> None:
        self.transport = transport
        self.index = index
        self.listeners: Listeners = []
        # once the remote has a candidate it keeps it (aiortc builds a new list
        # on every getRemoteCandidates(), so it is asked only until then)
        self._has_remote_candidates = False
        self.selected: Any = None
        """aioice's pair last reported selected (`selectedcandidatepairchange`)"""
        self.selections = 0
        """how many times a pair was selected (`getStats()`)"""
        self.liveness: TransportLiveness | None = None
        """the liveness of the current ICE generation, once started"""
        self.restart: IceRestart | None = None
        """the ICE restarts, made at the first need"""

    @property
    def generation(self) -> int:
        """ICE restarts that succeeded (each gives a new pair)."""
        return 0 if self.restart is None else self.restart.state.generation

    @property
    def tap(self) -> SelectedPair | None:
        """The tap on the selected pair, while liveness runs there."""
        liveness = self.liveness
        driver = None if liveness is None else liveness.driver
        return None if driver is None else driver.pair

    def newly_selected(self, label: str, now: float) -> SelectedCandidatePair | None:
        """The record of the pair aioice selected, if it selected one (a first,
        or another) since last asked; `label` names the transport."""
        pair = _shims.nominated_pair(self.transport)
        if pair is None or self.selected is pair:
            return None
        self.selected = pair
        self.selections += 1
        return stats.selected_candidate_pair(self.transport, label, self.tap, now)

    def follow_liveness(
        self,
        config: LivenessConfig,
        owner: LivenessOwner,
        state: IceTransportState,
        native: str,
    ) -> None:
        """Start, follow or stop the liveness for the state just stepped; an
        ICE restart (a new generation: new pair, new credentials) starts a new
        one."""
        liveness = self.liveness
        if liveness is not None and liveness.generation != self.generation:
            liveness.stop()
            liveness = None
        if liveness is None:
            liveness = TransportLiveness(self.transport, config, owner, self.generation)
            self.liveness = liveness
        liveness.follow(state, native)

    def snapshot(self, label: str, dtls: tuple[Any, ...]) -> IceSnapshot:
        """What is known of the transport now, for one step of the machine."""
        transport, restart, liveness = self.transport, self.restart, self.liveness
        if not self._has_remote_candidates:
            self._has_remote_candidates = bool(transport.getRemoteCandidates())
        verdict, reason = Liveness.ALIVE, None
        # a verdict speaks of its own generation's pair only
        if liveness is not None and liveness.generation == self.generation:
            verdict, reason = liveness.verdict, liveness.reason
        return IceSnapshot(
            label,
            transport.state,
            has_remote_candidates=self._has_remote_candidates,
            local_gathering_complete=transport.iceGatherer.state == "completed",
            remote_end_of_candidates=_shims.remote_end_of_candidates(transport),
            dtls=dtls,
            restart=None if restart is None else restart.state.phase,
            restarts=0 if restart is None else restart.state.events,
            restart_detail=None if restart is None else restart.state.detail,
            liveness=verdict,
            liveness_reason=reason,
        )

    def close(self) -> None:
        """No longer counted: stop the liveness and close the restarts."""
        if self.liveness is not None:
            self.liveness.stop()
            self.liveness = None
        if self.restart is not None:
            self.restart.close()
            self.restart = None
