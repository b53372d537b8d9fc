"""`rtcstate.PeerConnection`: aiortc's RTCPeerConnection with W3C states."""

from __future__ import annotations

import dataclasses
import functools
import math
import ssl
from collections.abc import Coroutine
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.stats import RTCStatsReport

from . import validation
from ._emitter import STATE_EVENTS, StateEventsMixin
from ._frontend import StateAPI
from ._gathering import DEFAULT_TIMEOUT, AddressFilter, Gathering, GatherPolicy
from ._ice_servers import parse_ice_servers
from ._options import DEFAULT_HISTORY_SIZE, Loopback, Options
from ._shims import gather as _gather_shim
from ._tracker import StateTracker
from ._transports import carried_mids, ice_transports
from .liveness import LivenessConfig

__all__ = ["PeerConnection"]

# webrtc-pc: close() changes signalingState without firing an event, and nothing
# fires after it.
_SILENT_AFTER_CLOSE = STATE_EVENTS | {
    "signalingstatechange",
    "icegatheringstatechange",
    "icecandidate",
}


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

    And beyond them: when the operating system says the local address of a
    transport's selected pair went away (or its interface went down), that ICE
    transport reads `disconnected` at once, its cause naming the address and
    interface, and `"pathlost"` fires with the
    [`TransportChange`][rtcstate.TransportChange]: `restartIce()` and a
    renegotiation repair it ([`recover`][rtcstate.recover] does so at once).

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
    :param trickle: trickle ICE, as a browser does: `setLocalDescription()`
        returns once the host candidates are known (the description carries
        those), each later candidate fires `"icecandidate"` with an
        `aiortc.RTCIceCandidate` (`sdpMid` and `sdpMLineIndex` set) for the
        application to signal, and the end fires `"icecandidate"` with `None`
        as `iceGatheringState` reads `complete`. By default every candidate
        is gathered first and goes in the description, as with aiortc.
    :param address_filter: a predicate on (interface name, address): the host
        addresses it returns `False` for are not gathered, nor their
        server-reflexive candidates, in every gathering, restarts included. It
        runs in `setLocalDescription()`, which raises what it raises. (A TURN
        allocation goes out through the interface the system routes it to.)
    :param gather_timeout: how long, in seconds, a STUN or TURN server may take
        to answer before it is left out; without `trickle`,
        `setLocalDescription()` can take this long when a server is silent.
    :param turn_tls_context: the TLS context for `turns:` servers (by default,
        the system's trusted certificates, the server's name checked).
    :raises ValueError: for an `iceServers` URL rtcstate cannot use, naming it
        (every URL is used: each STUN server, each TURN server over UDP, TCP or
        TLS; see docs/networks.md, "Gathering").
    """

    def __init__(
        self,
        configuration: RTCConfiguration | None = None,
        *,
        liveness: LivenessConfig | None = LivenessConfig(),  # noqa: B008 (frozen)
        loopback: Loopback = "auto",
        history_size: int = DEFAULT_HISTORY_SIZE,
        close_on_remote_hangup: bool = False,
        trickle: bool = False,
        address_filter: AddressFilter | None = None,
        gather_timeout: float = DEFAULT_TIMEOUT,
        turn_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        options = Options(liveness, loopback, history_size, close_on_remote_hangup)
        policy = _gather_policy(
            configuration,
            loopback,
            trickle,
            address_filter,
            gather_timeout,
            turn_tls_context,
        )
        self._configuration = configuration
        # rtcstate gathers from the servers itself; aiortc gets those it can
        # parse, for its own gathering should rtcstate's not be installed
        super().__init__(
            dataclasses.replace(
                configuration or RTCConfiguration(),
                iceServers=_gather_shim.aiortc_servers(policy.servers),
            )
        )
        # rtcstate's own events bypass emit() below, which drops aiortc's
        self._attach(self, functools.partial(RTCPeerConnection.emit, self), options)
        self._gathering = Gathering(
            policy,
            functools.partial(ice_transports, self),
            self._trickled,
            functools.partial(self._trickled, None, None),
            self._tracker.internal_error,
        )

    def getConfiguration(self) -> RTCConfiguration:
        """The configuration given, as aiortc's."""
        return self._configuration or RTCConfiguration()

    def _trickled(self, transport: RTCIceTransport | None, candidate: Any) -> None:
        """A trickled candidate of `transport`, or with `None` the end of a
        trickled gathering: it goes in the local description (as a browser's
        `localDescription` shows every candidate gathered so far) and fires
        `"icecandidate"`."""
        if self._tracker.closed:
            return
        if transport is None:
            _gather_shim.describe_local(self, (), None)
            self.emit("icecandidate", None)
            return
        carried = carried_mids(self, transport)
        mid, index = None, None
        local = self.localDescription
        for i, m in enumerate([] if local is None else _mids(local.sdp)):
            if m in carried:
                mid, index = m, i  # the first m-line the transport carries
                break
        rtc = _gather_shim.to_rtc(candidate, mid, index)
        if _gather_shim.describe_local(self, carried, rtc):
            self.emit("icecandidate", rtc)  # (not one the description has)

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
        self._gathering.close()
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
        try:
            self._gathering.install()
        except Exception as exc:  # aiortc gathers, from the servers it can use
            self._tracker.internal_error("gathering", exc)
        self._gathering.prepare()  # the address_filter's exception, if any
        # what the gathering tells waits for the description it belongs to
        self._gathering.hold()
        try:
            await super().setLocalDescription(sessionDescription)
        finally:
            self._gathering.release()
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


def _gather_policy(
    configuration: RTCConfiguration | None,
    loopback: str,
    trickle: object,
    address_filter: object,
    timeout: object,
    tls_context: object,
) -> GatherPolicy:
    """The gathering the keywords ask for, each checked."""
    if not isinstance(trickle, bool):
        raise TypeError(f"trickle must be a bool, not {type(trickle).__name__}")
    if address_filter is not None and not callable(address_filter):
        raise TypeError("address_filter must be a callable (name, address) -> bool")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(f"gather_timeout must be a positive number, not {timeout!r}")
    if tls_context is not None and not isinstance(tls_context, ssl.SSLContext):
        raise TypeError("turn_tls_context must be an ssl.SSLContext")
    servers = None if configuration is None else configuration.iceServers
    if servers is None:  # aiortc's default: Google's public STUN server
        servers = RTCIceGatherer.getDefaultIceServers()
    return GatherPolicy(
        servers=parse_ice_servers(servers),
        address_filter=address_filter,
        loopback=loopback,
        timeout=float(timeout),
        trickle=trickle,
        tls_context=tls_context,
    )
