"""The state surface shared by :class:`~rtcstate.PeerConnection` and
:class:`~rtcstate.ConnectionWatcher`."""

from __future__ import annotations

from aiortc import RTCIceTransport

from .events import StateChange, TransportChange
from .states import IceConnectionState, IceTransportState, PeerConnectionState
from .tracker import StateChanges, StateTracker


class StateAPI:
    """Reads the W3C states from ``self._rtcstate`` (a :class:`StateTracker`)."""

    _rtcstate: StateTracker

    @property
    def connectionState(self) -> PeerConnectionState:
        """``RTCPeerConnection.connectionState``, by the webrtc-pc rules.

        Changes fire ``"connectionstatechange"``. Compares equal to the W3C string.
        """
        return self._rtcstate.connection_state

    @property
    def iceConnectionState(self) -> IceConnectionState:
        """``RTCPeerConnection.iceConnectionState``, by the webrtc-pc rules.

        Changes fire ``"iceconnectionstatechange"``, before any
        ``"connectionstatechange"`` caused by the same transport change.
        """
        return self._rtcstate.ice_connection_state

    @property
    def state_history(self) -> list[StateChange]:
        """Every change of both states, oldest first, with its time and cause.

        Includes the change to ``closed`` made by ``close()`` (which fires no event).
        Bounded by ``history_size``; the oldest entries are dropped first.
        """
        return self._rtcstate.history

    @property
    def transport_history(self) -> list[TransportChange]:
        """Every change of every counted transport's state, oldest first: the
        ICE transports' ``RTCIceTransportState`` (as rtcstate derives it) and the
        DTLS transports' ``RTCDtlsTransportState``. Bounded like
        :attr:`state_history`."""
        return self._rtcstate.transport_history

    def get_ice_transport_state(self, transport: RTCIceTransport) -> IceTransportState:
        """The ``RTCIceTransportState`` rtcstate derives for one ICE transport of
        this connection (aiortc's ``transport.state`` lacks connected and
        disconnected).

        :raises ValueError: if the transport is not one this connection counts.
        """
        return self._rtcstate.ice_transport_state(transport)

    def transport_states(self) -> dict[str, str]:
        """A label -> state map of every counted transport, for logs."""
        return self._rtcstate.transport_states()

    async def wait_for_connection_state(
        self, *states: PeerConnectionState | str, timeout: float | None = None
    ) -> PeerConnectionState:
        """Wait until ``connectionState`` is one of ``states``; return it.

        Returns at once if it already is.

        :raises asyncio.TimeoutError: when ``timeout`` seconds pass first.
        :raises UnreachableStateError: as soon as none of ``states`` can be reached
            any more (``closed`` is final; ``failed`` can only become ``closed``).
        :raises ValueError: for no state, or a value that is not a W3C state.
        """
        result: PeerConnectionState = await self._rtcstate.wait_for(
            "connectionState", states, timeout
        )
        return result

    async def wait_for_ice_connection_state(
        self, *states: IceConnectionState | str, timeout: float | None = None
    ) -> IceConnectionState:
        """Wait until ``iceConnectionState`` is one of ``states``; return it.

        Same contract as :meth:`wait_for_connection_state`.
        """
        result: IceConnectionState = await self._rtcstate.wait_for(
            "iceConnectionState", states, timeout
        )
        return result

    def connection_state_changes(self) -> StateChanges[PeerConnectionState]:
        """An async iterator of every ``connectionState`` change from now on.

        It misses none, however slowly it is consumed, and ends after the change
        to ``closed``.
        """
        return StateChanges(self._rtcstate, "connectionState")

    def ice_connection_state_changes(self) -> StateChanges[IceConnectionState]:
        """Like :meth:`connection_state_changes`, for ``iceConnectionState``."""
        return StateChanges(self._rtcstate, "iceConnectionState")
