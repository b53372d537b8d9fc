"""ICE restarts as the signalling decides them, for one connection.

[`RestartSignalling`][rtcstate._signalling.RestartSignalling] makes the
[`IceRestart`][rtcstate._restart.IceRestart] of each ICE transport (kept by its
[`TrackedIce`][rtcstate._tracked.TrackedIce]) and reads the offer/answer exchange for
it (webrtc-pc's `restartIce()` and
`[[LocalIceCredentialsToReplace]]`):

* `restartIce()` marks the next offer as a restart (`restart_ice`);
* `createOffer()` begins it on every ICE transport that has started
  (`transports_started`, then `begin_wanted`);
* a remote offer with new ICE credentials restarts ICE at once, our applied restart
  offer waits for the answer, and the answer gives it the remote's credentials
  (`description_applied`).

What a restart then does to a transport (new connection, checks, the old pair kept
until the new one is proven) is [`rtcstate._restart`][]'s. The tracker steps the
states when one begins, succeeds or fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Protocol

from aiortc import RTCIceTransport

from . import _shims
from ._failsafe import fail_safe
from ._remote import RemoteIce, keeps_credentials, remote_ice
from ._restart import IceRestart, RestartOwner
from ._transports import Transports
from .states import Liveness

__all__ = ["RestartSignalling", "Tracker"]


class Tracker(RestartOwner, Protocol):
    """What [`RestartSignalling`][rtcstate._signalling.RestartSignalling] needs of
    the tracker it serves."""

    @property
    def closed(self) -> bool: ...

    def note(self, detail: str, transport: RTCIceTransport | None = None) -> None:
        """Record `detail` for `transport` (a remote offer's restart failed
        before the answer)."""

    def internal_error(self, where: str, exc: Exception) -> None: ...


class RestartSignalling:
    """The ICE restarts of one connection's transports, and the signalling that
    begins them.

    :param transports: the connection's counted transports.
    :param tracker: told when a restart changed or failed early; the owner of
        each [`IceRestart`][rtcstate._restart.IceRestart].
    :param loopback: for the guards put on each new aioice `Connection`.
    :param deadline: seconds a restart's checks may run (liveness's
        `failed_timeout`).
    """

    __slots__ = (
        "_deadline",
        "_loopback",
        "_reason",
        "_tracker",
        "_transports",
        "_wanted",
    )

    def __init__(
        self,
        transports: Transports,
        tracker: Tracker,
        loopback: Any,
        deadline: float,
    ) -> None:
        self._transports = transports
        self._tracker = tracker
        self._loopback = loopback
        self._deadline = deadline
        # restartIce() called: the next createOffer() restarts ICE
        self._wanted = False
        self._reason = "ICE restart (restartIce())"

    # --- reading --------------------------------------------------------------

    def get(self, transport: RTCIceTransport) -> IceRestart | None:
        """The transport's restarts, once it had one."""
        tracked = self._transports.tracked(transport)
        return None if tracked is None else tracked.restart

    def _restarts(self) -> Iterator[tuple[RTCIceTransport, IceRestart]]:
        for tracked in self._transports.tracked_ice:
            if tracked.restart is not None:
                yield tracked.transport, tracked.restart

    @property
    def restarting(self) -> bool:
        """A restart is under way on some transport."""
        return any(r.state.restarting for _, r in self._restarts())

    def restart(self, transport: RTCIceTransport) -> IceRestart:
        """The restarts of a counted transport, made at the first need."""
        tracked = self._transports.tracked(transport)
        if tracked is None:
            raise ValueError(f"{transport!r} is not a counted ICE transport")
        if tracked.restart is None:
            tracked.restart = IceRestart(
                transport, self._loopback, self._tracker, self._deadline
            )
        return tracked.restart

    # --- signalling -------------------------------------------------------------

    def restart_ice(self, reason: str | None = None) -> bool:
        """`restartIce()`: the ICE credentials negotiated so far are to be replaced
        by the next offer (webrtc-pc's `[[LocalIceCredentialsToReplace]]`).
        Returns whether negotiation is needed now (signalling is stable).

        :raises InternalsChangedError: if aiortc or aioice lacks what a restart
            needs.
        """
        pc = self._transports.pc
        if self._tracker.closed or pc.localDescription is None:
            return False  # nothing negotiated: the first credentials are new
        for transport in self._transports.ice:
            _shims.check_restart(transport)
        self._wanted = True
        self._reason = f"ICE restart ({reason or 'restartIce()'})"
        return str(pc.signalingState) == "stable"

    @property
    def wanted(self) -> bool:
        """`restartIce()` was called and no offer has begun the restart yet."""
        return self._wanted

    async def transports_started(self) -> None:
        """`createOffer()` is about to read the ICE credentials: wait, briefly,
        for transports aiortc is still starting."""
        pc = self._transports.pc
        # aiortc starts a transport in a task of its own, a loop iteration or
        # two after both descriptions were applied
        for _ in range(100):
            if pc.remoteDescription is None or not any(
                t.state == "new" and t.iceGatherer.state == "completed"
                for t in self._transports.ice
            ):
                break
            await asyncio.sleep(0.01)

    def fell_back(
        self, transport: RTCIceTransport, liveness: Liveness, reason: str | None
    ) -> bool:
        """Whether a liveness verdict that the unproven new pair is silent
        sent the transport back to its old pair: the remote never came to the
        new one, so the restart is abandoned and liveness judges the old pair
        afresh (a restart must not cost a working pair)."""
        restart = self.get(transport)
        if restart is None or liveness is Liveness.ALIVE or reason is None:
            return False
        return restart.fall_back(reason)

    async def before_offer(self) -> None:
        """`createOffer()` is about to read the ICE credentials: a wanted restart
        begins now on every ICE transport that has started."""
        if not self._wanted or self._tracker.closed:
            return
        await self.transports_started()
        self.begin_wanted()

    @fail_safe
    def before_local_description(self) -> None:
        """`setLocalDescription()` is about to gather: a restarted transport
        whose gathering an earlier one's end marked done gathers again."""
        if self._tracker.closed:
            return
        for transport in self._transports.ice:
            _shims.gather_again(transport)

    def internal_error(self, where: str, exc: Exception) -> None:
        self._tracker.internal_error(where, exc)

    @fail_safe
    def begin_wanted(self) -> None:
        """The wanted restart begins on every ICE transport that has started."""
        if self._tracker.closed:
            return
        self._wanted = False
        for transport in self._transports.ice:
            if transport.state not in ("new", "closed"):
                self.restart(transport).begin(True, self._reason, None)

    @fail_safe
    def description_applied(self, remote: bool) -> bool:
        """`setLocalDescription()` or `setRemoteDescription()` returned (aiortc
        changes `signalingState` before the description, so that event is too
        early to read it).

        A remote offer with new ICE credentials restarts ICE; our restart offer,
        once applied, waits for the answer, which gives it the remote's
        credentials. Returns whether negotiation is needed (signalling is back
        to stable with a `restartIce()` still to offer)."""
        if self._tracker.closed:
            return False
        pc = self._transports.pc
        state = str(pc.signalingState)
        if remote and state == "have-remote-offer":
            for transport, ice in remote_ice(pc).items():
                if (
                    transport in self._transports
                    and transport.state not in ("new", "closed")
                    and not self._expects(transport, ice)
                ):
                    self._remote_offer(transport, ice)
        elif not remote and state == "have-local-offer":
            for _, restart in self._restarts():
                if restart.state.restarting:
                    restart.state.offered = True
        elif (
            remote
            and state == "stable"
            and any(r.state.offered for _, r in self._restarts())
        ):
            answer = remote_ice(pc)
            for transport, restart in self._restarts():
                if restart.state.offered and transport in answer:
                    restart.remote_known(answer[transport])
        return state == "stable" and self._wanted

    def _remote_offer(self, transport: RTCIceTransport, ice: RemoteIce) -> None:
        try:
            self.restart(transport).begin(
                ice.ice_lite, "ICE restart (remote offer)", ice
            )
        except Exception as exc:
            # the answer keeps the old credentials; say why here, as the remote
            # can only guess
            self._tracker.internal_error("ICE restart (remote offer)", exc)
            self._tracker.note(
                "ICE restart (remote offer) failed before the answer: "
                f"{type(exc).__name__}: {exc}",
                transport,
            )
            return
        # the answer carries new credentials: a restartIce() still to offer is
        # satisfied (webrtc-pc)
        self._wanted = False

    def _expects(self, transport: RTCIceTransport, remote: RemoteIce) -> bool:
        restart = self.get(transport)
        if restart is not None:
            return restart.expects(remote)
        return keeps_credentials(_shims.connection(transport), remote)
