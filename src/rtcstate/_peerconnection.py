"""`rtcstate.PeerConnection`: aiortc's RTCPeerConnection with W3C states."""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.stats import RTCStatsReport

from . import validation
from ._emitter import STATE_EVENTS, StateEventsMixin
from ._frontend import StateAPI
from ._options import DEFAULT_HISTORY_SIZE, Loopback, Options
from ._tracker import StateTracker
from .liveness import LivenessConfig

__all__ = ["PeerConnection"]

# webrtc-pc: close() changes signalingState without firing an event, and nothing
# fires after it.
_SILENT_AFTER_CLOSE = STATE_EVENTS | {"signalingstatechange", "icegatheringstatechange"}


class PeerConnection(StateAPI, StateEventsMixin, RTCPeerConnection):
    """A drop-in `aiortc.RTCPeerConnection` whose `connectionState` and
    `iceConnectionState` follow the W3C webrtc-pc rules.

    Differences from aiortc's class, all as in webrtc-pc and browsers:

    * both states take every W3C value (`disconnected`, ICE `connected`...),
      computed from the connection's real ICE and DTLS transports;
    * `iceconnectionstatechange` / `connectionstatechange` fire once per real change,
      ICE first; a handler may take the [`StateChange`][rtcstate.StateChange];
    * `close()` sets both states to `closed` at the call and fires no event;
    * a remote hang-up does not close the connection: the states follow the
      transports (DTLS `closed`, then ICE fails). The aiortc objects stay up
      until the application calls `close()`.

    :param configuration: as for aiortc.
    :param liveness: timers of the liveness monitor that notices a silent remote
        (`disconnected`), its return and its loss (`failed`); `None`
        switches it off, leaving ICE to aiortc (about 30 s to fail).
    :param loopback: whether to offer a 127.0.0.1 host candidate, which aiortc
        never gathers: `"auto"` (the default) only when the host has no other
        address, so that peers on a loopback-only host still connect;
        `"always"`; or `"never"`.
    :param history_size: how many changes
        [`state_history`][rtcstate._frontend.StateAPI.state_history] keeps.
    :param close_on_remote_hangup: when the remote hangs up (closes DTLS), close
        this connection at once, as aiortc does by itself: `connectionState`
        reads `closed` (cause `close() called (the remote hung up)`) with no
        event, as for `close()`. By default it stays open, as in a browser,
        and reads `failed` once liveness gives up. Either way
        `"remotehangup"` fires within milliseconds of the hang-up.
    """

    def __init__(
        self,
        configuration: RTCConfiguration | None = None,
        *,
        liveness: LivenessConfig | None = LivenessConfig(),  # noqa: B008 (frozen)
        loopback: Loopback = "auto",
        history_size: int = DEFAULT_HISTORY_SIZE,
        close_on_remote_hangup: bool = False,
    ) -> None:
        options = Options(liveness, loopback, history_size, close_on_remote_hangup)
        super().__init__(configuration)
        # rtcstate's own events bypass emit() below, which drops aiortc's
        self._attach(self, functools.partial(RTCPeerConnection.emit, self), options)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> bool:
        tracker: StateTracker | None = getattr(self, "_tracker", None)
        if tracker is not None:
            if event in STATE_EVENTS:
                return False  # aiortc's own emission, with its own values
            if tracker.closed and event in _SILENT_AFTER_CLOSE:
                return False
            if event == "signalingstatechange":
                self._signaling_changed(self.signalingState)
        return super().emit(event, *args, **kwargs)

    def close(self) -> Coroutine[Any, Any, None]:
        """`RTCPeerConnection.close()`: both states are `closed` as soon as this
        is called, no state event fires, and nothing fires afterwards. Await the
        result to let aiortc stop its transports."""
        self._tracker.close()
        return self._close()

    async def _close(self) -> None:
        await super().close()
        await self._tracker.drain()

    async def getStats(self) -> RTCStatsReport:
        """aiortc's report, with the ICE stats aiortc 1.16 leaves out: one
        `"transport"`, its `"candidate-pair"`s and their `"local-candidate"` /
        `"remote-candidate"`s per ICE transport, the selected pair with the
        round-trip time of rtcstate's keepalives (see [`rtcstate.stats`][])."""
        return self._add_stats(await super().getStats())

    async def setLocalDescription(
        self,
        sessionDescription: RTCSessionDescription | None = None,
    ) -> None:
        """As aiortc's, with the SDP checked first, as
        [`setRemoteDescription`][rtcstate.PeerConnection.setRemoteDescription]."""
        if sessionDescription is not None:
            validation.check_description(sessionDescription.sdp)
        self._tracker.signalling.before_local_description()
        await super().setLocalDescription(sessionDescription)
        self._description_applied(remote=False)

    async def createOffer(self) -> RTCSessionDescription:
        """As aiortc's; after [`restartIce`][rtcstate._frontend.StateAPI.restartIce] the
        offer carries new ICE credentials."""
        await self._tracker.signalling.before_offer()
        return await super().createOffer()

    async def setRemoteDescription(
        self,
        sessionDescription: RTCSessionDescription,
    ) -> None:
        """As aiortc's, with the SDP checked first
        ([`rtcstate.validation.check_description`][]): malformed SDP raises
        `ValueError` saying what is wrong, where aiortc accepts some of it
        silently and rejects some with messages that do not.

        A remote offer with new ICE credentials restarts ICE (see
        [`restartIce`][rtcstate._frontend.StateAPI.restartIce]): the answer carries new
        credentials too. A renegotiation that changes the remote's DTLS
        fingerprint raises `ValueError`
        ([`rtcstate.validation.check_fingerprint_kept`][])."""
        validation.check_description(sessionDescription.sdp)
        previous = self.remoteDescription
        validation.check_fingerprint_kept(
            None if previous is None else previous.sdp, sessionDescription.sdp
        )
        await super().setRemoteDescription(sessionDescription)
        self._description_applied(remote=True)

    async def addIceCandidate(self, candidate: RTCIceCandidate | None) -> None:
        """As aiortc's, with the candidate checked first
        ([`rtcstate.validation.check_candidate`][]): a field out of range or an
        unknown m-line raises `ValueError` instead of being dropped."""
        if candidate is not None:
            remote = self.remoteDescription
            mids = None if remote is None else _mids(remote.sdp)
            validation.check_candidate(candidate, mids)
        await super().addIceCandidate(candidate)
        self._remote_candidate_added()


def _mids(sdp: str) -> list[str]:
    """The mid of each m-line, or its index where it has none."""
    mids: list[str] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            mids.append(str(len(mids)))
        elif line.startswith("a=mid:") and mids:
            mids[-1] = line[len("a=mid:") :].strip()
    return mids
