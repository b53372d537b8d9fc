"""Never worse than aiortc: rtcstate's own exceptions stay inside rtcstate.

The tracker's entry points are called from aiortc's callbacks and signalling
methods. [`fail_safe`][rtcstate._failsafe.fail_safe] logs an exception of
rtcstate's there instead of raising it into aiortc (a stale state is better than a
broken connection); [`InternalErrors`][rtcstate._failsafe.InternalErrors] logs the
first with its traceback and the rest quietly, since a bug repeats on every event.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["InternalErrors", "KeptTasks", "Reports", "fail_safe"]

logger = logging.getLogger("rtcstate")

_Method = TypeVar("_Method", bound=Callable[..., Any])


class Reports(Protocol):
    """What has its entry points made fail-safe."""

    def internal_error(self, where: str, exc: Exception) -> None: ...


def fail_safe(method: _Method) -> _Method:
    """An entry point of an object that [`Reports`][rtcstate._failsafe.Reports]:
    an exception is told to its `internal_error` and the call returns `None`."""

    @functools.wraps(method)
    def entry_point(self: Reports, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.internal_error(method.__name__, exc)
            return None

    return entry_point  # type: ignore[return-value]


class InternalErrors:
    """Logs one connection's internal errors: the first as a warning with its
    traceback, the others at debug level."""

    __slots__ = ("_warned",)

    def __init__(self) -> None:
        self._warned = False

    def __call__(self, where: str, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "internal error in %s, not passed on to aiortc; states may lag",
                where,
                exc_info=exc,
            )
        else:
            logger.debug("internal error in %s", where, exc_info=exc)


class KeptTasks:
    """Tasks rtcstate started (an ICE restart, closing an old connection, a
    gathering), referenced until done; one that fails is told to `on_error`
    (by default logged), never raised."""

    __slots__ = ("_on_error", "_tasks")

    def __init__(
        self, on_error: Callable[[str, Exception], None] | None = None
    ) -> None:
        # a dict as a set: an empty set takes 216 bytes, an empty dict 64
        self._tasks: dict[asyncio.Future[Any], None] = {}
        self._on_error = on_error

    def keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks[task] = None
        task.add_done_callback(self._done)

    def cancel(self) -> None:
        """Cancel every task kept."""
        for task in list(self._tasks):
            task.cancel()

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.pop(task, None)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if self._on_error is not None and isinstance(exc, Exception):
            self._on_error("a task of rtcstate's", exc)
        else:
            logger.warning(
                "a task of rtcstate's failed (ICE restart or closing)", exc_info=exc
            )

    async def drain(self) -> None:
        """Wait until every task kept is done (those they start included)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
