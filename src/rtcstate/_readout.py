"""What the front ends read of one tracked connection: its states, its counted
transports' states and selected pairs, and the ICE side of `getStats()`.

Nothing here changes a state: [`Readout`][rtcstate._readout.Readout] reads the
state machine's last step, the transports' tracked facts and the clock.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCIceTransport
from aiortc.stats import RTCStatsReport

from . import stats
from ._events import SelectedCandidatePair
from ._machine import StateMachine
from ._restart import IceRestart
from ._signalling import RestartSignalling
from ._transport_liveness import TransportLiveness
from ._transports import Transports
from .states import IceConnectionState, IceTransportState, PeerConnectionState

__all__ = ["Readout"]


class Readout:
    """The read side of a [`StateTracker`][rtcstate._tracker.StateTracker].

    :param machine: the connection's state machine.
    :param transports: its counted transports.
    :param signalling: its ICE restarts.
    :param clock: the time stamped on what is read (the loop's).
    :param on_error: told of an exception while adding to `getStats()`'s report.
    """

    __slots__ = ("_clock", "_machine", "_on_error", "_signalling", "_transports")

    def __init__(
        self,
        machine: StateMachine,
        transports: Transports,
        signalling: RestartSignalling,
        clock: Callable[[], float],
        on_error: Callable[[str, Exception], None],
    ) -> None:
        self._machine = machine
        self._transports = transports
        self._signalling = signalling
        self._clock = clock
        self._on_error = on_error

    @property
    def connection_state(self) -> PeerConnectionState:
        return self._machine.connection_state

    @property
    def ice_connection_state(self) -> IceConnectionState:
        return self._machine.ice_connection_state

    @property
    def signaling_state(self) -> str:
        """aiortc's `signalingState`."""
        return str(self._transports.pc.signalingState)

    def ice_transport_state(self, transport: RTCIceTransport) -> IceTransportState:
        """The W3C state rtcstate derives for one of the connection's ICE transports."""
        state = self._machine.ice_transport_state(transport)
        if state is None:
            self._check_counted(transport)
            return IceTransportState.CLOSED
        return state

    def _check_counted(self, transport: RTCIceTransport) -> None:
        """For a transport the connection does not count: fine once closed (it
        counts none), a clear error before."""
        if not self._machine.closed:
            raise ValueError(
                f"{transport!r} is not an ICE transport this connection counts"
            )

    def liveness(self, transport: RTCIceTransport) -> TransportLiveness | None:
        """The liveness of one counted ICE transport (`None` without a monitor)."""
        tracked = self._transports.tracked(transport)
        return None if tracked is None else tracked.liveness

    def restart(self, transport: RTCIceTransport) -> IceRestart | None:
        """The ICE restarts of one counted transport, once it had one."""
        return self._signalling.get(transport)

    @property
    def restarting(self) -> bool:
        """An ICE restart is under way on one of the transports."""
        return self._signalling.restarting

    def selected_candidate_pair(
        self, transport: RTCIceTransport
    ) -> SelectedCandidatePair | None:
        """The selected pair of one counted ICE transport, or `None` while there is
        none."""
        tracked = self._transports.tracked(transport)
        if tracked is None:
            self._check_counted(transport)
            return None
        return stats.selected_candidate_pair(
            transport, self._transports.label(transport), tracked.tap, self._clock()
        )

    def selected_pairs(self) -> list[SelectedCandidatePair]:
        """The selected pair of each counted ICE transport that has one (none
        once closed)."""
        if self._machine.closed:
            return []
        now = self._clock()
        out = []
        for tracked in self._transports.tracked_ice:
            ice = tracked.transport
            label = self._transports.label(ice)
            pair = stats.selected_candidate_pair(ice, label, tracked.tap, now)
            if pair is not None:
                out.append(pair)
        return out

    def add_stats(self, report: RTCStatsReport) -> None:
        """Add the ICE side of `getStats()` (see [`rtcstate.stats`][]) to
        `report`; an error of rtcstate's is logged and leaves aiortc's report as
        it is."""
        if self._machine.closed:
            return
        try:
            now = self._clock()
            machine = self._machine
            for dtls in self._transports.dtls:
                tracked = self._transports.tracked(dtls.transport)
                state = machine.ice_transport_state(dtls.transport)
                if state is None or tracked is None:
                    continue
                stats.add_transport_stats(
                    report,
                    stats.TransportStatsInput(
                        dtls, state.value, tracked.tap, tracked.selections
                    ),
                    now,
                )
        except Exception as exc:
            self._on_error("getStats", exc)

    def transport_states(self) -> dict[str, str]:
        """Label -> state of every counted transport, for logs and debugging."""
        # labels and the states last derived only: nothing read from aiortc
        # here (repr() calls this)
        out: dict[str, str] = {}
        machine, label = self._machine, self._transports.label
        for ice in self._transports.ice:
            if (state := machine.ice_transport_state(ice)) is not None:
                out[label(ice)] = state.value
        for dtls in self._transports.dtls:
            if (dtls_state := machine.dtls_transport_state(dtls)) is not None:
                out[label(dtls)] = dtls_state.value
        return out
