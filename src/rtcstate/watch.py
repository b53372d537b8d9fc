"""``rtcstate.watch()``: W3C states for an aiortc connection created elsewhere."""

from __future__ import annotations

from aiortc import RTCIceCandidate, RTCPeerConnection
from pyee.asyncio import AsyncIOEventEmitter

from . import _shims
from .api import StateAPI
from .emitter import StateEventsMixin
from .events import Cause, StateChange, TransportChange
from .liveness import LivenessConfig
from .tracker import DEFAULT_HISTORY_SIZE, Loopback, StateTracker

__all__ = ["ConnectionWatcher", "watch"]


class ConnectionWatcher(StateAPI, StateEventsMixin, AsyncIOEventEmitter):
    """W3C ``connectionState`` / ``iceConnectionState`` of an aiortc connection.

    It has the same states, events, history and helpers as
    :class:`~rtcstate.PeerConnection`; listen on the watcher, not on the
    connection (whose own events keep aiortc's values). Create it with
    :func:`watch`.

    To follow the transports, the watcher listens to the connection's
    ``"signalingstatechange"`` and wraps its ``addIceCandidate`` and ``close``
    on the instance (``close`` then also waits for rtcstate's own clean-up);
    like :class:`~rtcstate.PeerConnection` it also stops aiortc from closing the
    connection by itself on a remote hang-up.
    """

    def __init__(
        self,
        pc: RTCPeerConnection,
        *,
        liveness: LivenessConfig | None = LivenessConfig(),  # noqa: B008 (frozen)
        loopback: Loopback = "auto",
        history_size: int = DEFAULT_HISTORY_SIZE,
    ) -> None:
        if not isinstance(pc, RTCPeerConnection):
            raise TypeError(
                f"watch() needs an aiortc RTCPeerConnection, not {type(pc).__name__}"
            )
        super().__init__()
        self._pc = pc
        _shims.disable_self_close(pc)
        self._rtcstate = StateTracker(
            pc,
            self._emit_state_change,
            history_size=history_size,
            liveness=liveness,
            loopback=loopback,
        )
        pc.on("signalingstatechange", self._on_signalingstatechange)
        self._wrap_add_ice_candidate()
        self._wrap_close()
        if pc.signalingState == "closed":
            self._rtcstate.close()

    @property
    def pc(self) -> RTCPeerConnection:
        """The watched connection."""
        return self._pc

    def _emit_state_change(self, change: StateChange | TransportChange) -> None:
        self.emit(change.event, change)

    def _on_signalingstatechange(self) -> None:
        if self._pc.signalingState == "closed":
            # aiortc's close() sets this first, before any transport stops.
            self._rtcstate.close()
        else:
            self._rtcstate.sync_transports(f"signalingState {self._pc.signalingState}")

    def _wrap_add_ice_candidate(self) -> None:
        original = self._pc.addIceCandidate
        tracker = self._rtcstate

        async def addIceCandidate(candidate: RTCIceCandidate | None) -> None:
            await original(candidate)
            tracker.update(Cause("ice", detail="remote candidate added"))

        addIceCandidate.__doc__ = original.__doc__
        self._pc.addIceCandidate = addIceCandidate  # type: ignore[method-assign]

    def _wrap_close(self) -> None:
        original = self._pc.close
        tracker = self._rtcstate

        async def close() -> None:
            await original()
            await tracker.drain()

        close.__doc__ = original.__doc__
        self._pc.close = close  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return (
            f"<ConnectionWatcher connectionState={self.connectionState} "
            f"iceConnectionState={self.iceConnectionState}>"
        )


def watch(
    pc: RTCPeerConnection,
    *,
    liveness: LivenessConfig | None = LivenessConfig(),  # noqa: B008 (frozen)
    loopback: Loopback = "auto",
    history_size: int = DEFAULT_HISTORY_SIZE,
) -> ConnectionWatcher:
    """Track the W3C states of an existing aiortc ``RTCPeerConnection``.

    >>> watcher = rtcstate.watch(pc)
    >>> await watcher.wait_for_connection_state("connected")

    Call it before ``setLocalDescription`` / ``setRemoteDescription`` to see every
    change; called later, it starts from the transports' current states.
    ``liveness`` and ``loopback`` are as for :class:`~rtcstate.PeerConnection`.
    """
    return ConnectionWatcher(
        pc, liveness=liveness, loopback=loopback, history_size=history_size
    )
