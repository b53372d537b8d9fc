"""The liveness of one ICE transport: its sans-IO cores in turn, on the loop.

[`TransportLiveness`][rtcstate._transport_liveness.TransportLiveness] runs a
[`ChecksDeadline`][rtcstate.liveness.ChecksDeadline] while ICE checks and a
[`LivenessMonitor`][rtcstate.liveness.LivenessMonitor] once aiortc has a selected pair,
each through a [`LivenessDriver`][rtcstate._driver.LivenessDriver], and keeps the
latest verdict for the step's snapshot. When one says `failed` (consent expired), it
carries out the stop (RFC 7675: stop sending to the remote); its
[`LivenessOwner`][rtcstate._transport_liveness.LivenessOwner] only receives the
verdicts. An exception of its own switches liveness off for this transport: aioice's
consent checks are given back and the owner is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiortc import RTCIceTransport

from . import _netmon, _shims
from . import _tap as tap
from ._driver import LivenessDriver
from ._netlink import NetworkChange
from .liveness import ChecksDeadline, LivenessConfig, LivenessMonitor
from .states import IceTransportState, Liveness

__all__ = ["LivenessOwner", "TransportLiveness", "is_path_lost"]

logger = logging.getLogger("rtcstate")

# how a lost path's reason ends: the local address went away, its interface down
_GONE, _DOWN = "went away", "went down"


def is_path_lost(detail: str | None) -> bool:
    """Whether a transport change's `detail` is a path the operating system
    said is gone (the reason `TransportLiveness` gives), not silence."""
    return bool(
        detail
        and detail.startswith(("local address ", "interface "))
        and detail.endswith((_GONE, _DOWN))
    )


class LivenessOwner(Protocol):
    """What `TransportLiveness` reports to, for any of its transports
    (one object, not three closures per transport: hundreds of connections)."""

    def liveness_changed(
        self, transport: RTCIceTransport, liveness: Liveness, reason: str | None
    ) -> None:
        """A new verdict and its reason (already in `TransportLiveness.verdict`)."""

    def liveness_fault(self, transport: RTCIceTransport, exc: Exception) -> None:
        """An internal error, once, after liveness was switched off for the
        transport and aioice's consent checks restored."""

    def stop_sending(self, transport: RTCIceTransport) -> None:
        """Consent expired: stop sending over the transport."""

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Keep a task referenced until it is done."""

    def selected_pair_changed(self, transport: RTCIceTransport) -> None:
        """aioice nominated another pair, which the monitor now follows."""

    def round_trip(self, transport: RTCIceTransport, rtt: float) -> None:
        """A keepalive on the selected pair was answered after `rtt` seconds;
        must not raise (it runs inside the tap)."""


class TransportLiveness:
    """The liveness of one ICE transport, on the running loop.

    :param transport: the ICE transport.
    :param config: the timers.
    :param owner: told of verdicts and faults; stops the sending when consent
        expires.
    """

    __slots__ = (
        "_checks_driver",
        "_config",
        "_off",
        "_owner",
        "_pair_driver",
        "_transport",
        "_unsubscribe",
        "generation",
        "reason",
        "verdict",
    )

    def __init__(
        self,
        transport: RTCIceTransport,
        config: LivenessConfig,
        owner: LivenessOwner,
        generation: int = 0,
    ) -> None:
        self.generation = generation
        """the ICE restarts before it: a restart needs a new one (new pair,
        new credentials)"""
        self._transport = transport
        self._config = config
        self._owner = owner
        self._checks_driver: LivenessDriver | None = None
        self._pair_driver: LivenessDriver | None = None
        self._off = False
        self._unsubscribe: Callable[[], None] | None = None
        self.verdict = Liveness.ALIVE
        """the latest verdict (`alive` again once switched off)"""
        self.reason: str | None = None
        """why, as the monitor said"""

    @property
    def driver(self) -> LivenessDriver | None:
        """The driver of the selected pair's monitor, once started."""
        return self._pair_driver

    @property
    def off(self) -> bool:
        """Liveness was switched off here by an internal error."""
        return self._off

    def follow(self, state: IceTransportState, native: str) -> None:
        """Run the deadline while the transport checks; start the monitor once
        aiortc has selected a pair (`completed`), stop it when ICE ends."""
        if self._off:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # started at the next event, which runs in the loop
        try:
            self._follow_checks(state)
            self._follow_pair(native)
        except Exception as exc:
            self._fault(exc)

    def stop(self) -> None:
        """Stop both cores. Idempotent."""
        for driver in (self._checks_driver, self._pair_driver):
            if driver is not None:
                driver.stop()
        self._unwatch_network()

    def _follow_checks(self, state: IceTransportState) -> None:
        if state is not IceTransportState.CHECKING:
            if self._checks_driver is not None:
                self._checks_driver.stop()
                self._checks_driver = None
        elif self._checks_driver is None:
            now = asyncio.get_running_loop().time()
            self._checks_driver = LivenessDriver(
                ChecksDeadline(self._config, now), None, self._verdict, self._fault
            )

    def _follow_pair(self, native: str) -> None:
        if self._pair_driver is not None:
            if native != "completed":
                self._pair_driver.stop()
                self._unwatch_network()
            return
        if native != "completed":
            return
        pair = tap.selected_pair(self._transport)
        if pair is None:
            return
        _shims.take_over_consent(self._transport)
        now = asyncio.get_running_loop().time()
        self._pair_driver = LivenessDriver(
            LivenessMonitor(self._config, now),
            pair,
            self._verdict,
            self._fault,
            self._switched,
            self._round_trip,
        )
        self._watch_network()

    def _watch_network(self) -> None:
        """Follow the process's network monitor while the monitor runs: the
        pair's local address going away is its path lost, at once."""
        if self._unsubscribe is None:
            try:
                self._unsubscribe = _netmon.monitor().subscribe(self._network_changed)
            except Exception:  # liveness alone notices the change, as before
                logger.warning("rtcstate: no network monitor", exc_info=True)

    def _unwatch_network(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _network_changed(self, change: NetworkChange) -> None:
        driver = self._pair_driver
        if driver is None or change.kind not in ("address-removed", "link-down"):
            return
        selected = driver.pair
        on = None if selected is None else selected.pair
        address = None if on is None else _shims.pair_local_address(on)
        if address is None:
            return
        if change.kind == "address-removed" and change.address == address:
            driver.path_lost(f"local address {address} ({change.interface}) {_GONE}")
        elif change.kind == "link-down" and address in change.addresses:
            driver.path_lost(
                f"interface {change.interface} of local address {address} {_DOWN}"
            )

    def _switched(self) -> None:
        self._owner.selected_pair_changed(self._transport)

    def _round_trip(self, rtt: float) -> None:
        self._owner.round_trip(self._transport, rtt)

    def _verdict(self, liveness: Liveness, reason: str) -> None:
        self.verdict, self.reason = liveness, reason
        owner = self._owner
        if liveness is Liveness.FAILED:
            # RFC 7675: consent expired, stop sending to the remote.
            owner.stop_sending(self._transport)
        owner.liveness_changed(self._transport, liveness, reason)

    def _fault(self, exc: Exception) -> None:
        if self._off:
            return
        self._off = True
        self.verdict, self.reason = Liveness.ALIVE, None  # aiortc's state rules
        self.stop()
        try:
            _shims.restore_consent(self._transport)
        except Exception:
            logger.warning("aioice's consent checks not restored", exc_info=True)
        self._owner.liveness_fault(self._transport, exc)
