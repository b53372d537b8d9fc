"""The thin asyncio layer that runs a :class:`~rtcstate.liveness.LivenessMonitor`
on one ICE transport's selected pair.

It feeds the monitor every datagram from the remote, answers to keepalives apart
(seen on the pair's socket: :class:`rtcstate.tap.SelectedPair`), arms one
``loop.call_at`` timer at the monitor's ``get_timer()``, sends the keepalives the
monitor asks for, and passes verdicts on. Nothing here decides anything.

It runs inside aioice's datagram path and on the loop's timers, so an exception
of its own (or of the monitor, or of the pair) must not escape into either: the
driver stops, the datagram still reaches aioice, and ``on_fault`` is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .liveness import KeepaliveDue, LivenessConfig, LivenessMonitor
from .states import Liveness
from .tap import SelectedPair

__all__ = ["LivenessDriver"]

logger = logging.getLogger("rtcstate")


class LivenessDriver:
    """Runs one monitor until :meth:`stop` or its ``failed`` verdict.

    :param pair: the selected pair to watch and send keepalives on.
    :param config: the monitor's timers.
    :param on_verdict: called with each new :class:`Liveness` and its reason.
    :param on_fault: called once, after the driver stopped itself, with an
        exception raised inside it (a bug, or an aioice that changed).
    """

    def __init__(
        self,
        pair: SelectedPair,
        config: LivenessConfig,
        on_verdict: Callable[[Liveness, str], None],
        on_fault: Callable[[Exception], None],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._pair = pair
        self._on_verdict = on_verdict
        self._on_fault = on_fault
        self._monitor = LivenessMonitor(config, self._loop.time())
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = self._faulted = False
        self.keepalives_sent = 0
        pair.watch(self._on_packet, self._on_answer, self._fault)
        self._arm()

    @property
    def liveness(self) -> Liveness:
        return self._monitor.liveness

    def stop(self) -> None:
        """Stop watching and sending. Idempotent."""
        self._stopped = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pair.unwatch()

    # A packet only moves the monitor's deadlines later: the armed timer may then
    # fire early, find nothing due and re-arm; no call_at per packet.
    def _on_packet(self) -> None:
        self._monitor.packet_received(self._loop.time())
        self._drain()

    # An answer, though, comes once per keepalive and moves the timer from the
    # probe deadline to the next grid point: re-arm now, or every connection
    # would wake the loop once more per keepalive, off the grid.
    def _on_answer(self) -> None:
        self._monitor.answer_received(self._loop.time())
        self._drain()
        if (
            self._handle is not None
            and self._handle.when() != self._monitor.get_timer()
        ):
            self._handle.cancel()
            self._handle = None
            self._arm()

    def _fire(self) -> None:
        self._handle = None
        if self._stopped:
            return
        try:
            self._monitor.handle_timer(self._loop.time())
            self._drain()
            self._arm()
        except Exception as exc:
            self._fault(exc)

    def _fault(self, exc: Exception) -> None:
        if self._faulted:
            return
        self._faulted = True
        self.stop()
        try:
            self._on_fault(exc)
        except Exception:
            logger.exception("liveness: reporting an internal error failed")

    def _arm(self) -> None:
        if self._stopped or self._handle is not None:
            return
        when = self._monitor.get_timer()
        if when is not None:
            self._handle = self._loop.call_at(when, self._fire)

    def _drain(self) -> None:
        while not self._stopped and (event := self._monitor.next_event()) is not None:
            if isinstance(event, KeepaliveDue):
                if self._pair.send_keepalive():
                    self.keepalives_sent += 1
            else:
                if event.liveness is Liveness.FAILED:
                    self.stop()
                self._on_verdict(event.liveness, event.reason)
