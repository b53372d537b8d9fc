"""What follows a connection beside its events (`rtcstate.metrics`).

[`Observers`][rtcstate._observers.Observers] tells each registered
[`Observer`][rtcstate._observers.Observer] of what the tracker records. An
observer's exception is logged and goes no further: an observer never costs the
tracking.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ._events import SelectedCandidatePair, StateChange, TransportChange
from .states import Liveness

__all__ = ["Observer", "Observers"]

logger = logging.getLogger("rtcstate")


class Observer(Protocol):
    """Told of every recorded change, `close()`'s included, of each liveness
    verdict and of each answered keepalive."""

    def changes(
        self, transport_changes: list[TransportChange], changes: list[StateChange]
    ) -> None:
        """One step's changes, as recorded in the histories."""

    def verdict(
        self, liveness: Liveness, reason: str | None, silence: float | None
    ) -> None:
        """A liveness verdict for one ICE transport, before the step it causes;
        `silence` is the time since the last datagram from the remote on the
        selected pair (`None` if none arrived since the monitor started)."""

    def round_trip(self, rtt: float) -> None:
        """A keepalive on a selected pair was answered after `rtt` seconds."""

    def selected(self, pair: SelectedCandidatePair) -> None:
        """aioice selected a pair for an ICE transport (the
        `selectedcandidatepairchange` record)."""


class Observers:
    """The observers of one connection; false while there is none, so that
    the tracker skips building what nobody reads."""

    __slots__ = ("_all",)

    def __init__(self) -> None:
        self._all: tuple[Observer, ...] = ()

    def __bool__(self) -> bool:
        return bool(self._all)

    def add(self, observer: Observer) -> None:
        """Tell `observer` of everything recorded from now on."""
        if observer not in self._all:
            self._all = (*self._all, observer)

    def remove(self, observer: Observer) -> None:
        self._all = tuple(o for o in self._all if o is not observer)

    def tell(self, method: str, *args: Any) -> None:
        """Call `method(*args)` on each observer (an `Observer` method's name)."""
        for observer in self._all:
            try:
                getattr(observer, method)(*args)
            except Exception:
                logger.exception("an observer of rtcstate's changes raised")
