"""pyee emitter behaviour shared by [`PeerConnection`][rtcstate.PeerConnection] and
[`watch`][rtcstate.watch].

Two additions to pyee's `AsyncIOEventEmitter`:

* Handlers of `connectionstatechange` / `iceconnectionstatechange` (and
  rtcstate's `transportstatechange`) may take no argument (aiortc's style:
  read `pc.connectionState` inside) or one argument, the change that fired
  them ([`StateChange`][rtcstate.StateChange], `TransportChange`). The
  choice is made from the handler's signature when it is registered. This hooks
  pyee's `_add_event_handler` (pyee 13), which `on`, `once`, `add_listener`
  and `listens_to` all go through; `tests/test_emitter.py` guards it.
* Their async handlers start at once, inside `emit`, as a JavaScript async
  function (or a Python 3.12 eager task) does: the code before the first
  `await` runs before the next handler, so a handler starts within
  microseconds of the change, whatever else the loop has queued. The rest runs
  as a task that pyee keeps referenced (`wait_for_complete`, `cancel`).
* An exception from a handler goes to the `"error"` event as pyee does; when
  nobody listens to `"error"` it is logged instead of raised, so one failing
  handler never stops the other handlers or state tracking.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Generator
from typing import Any

logger = logging.getLogger("rtcstate")

STATE_EVENTS = frozenset({"connectionstatechange", "iceconnectionstatechange"})
"""The two W3C state events."""
CHANGE_EVENTS = STATE_EVENTS | {
    "transportstatechange",
    "remotehangup",
    "pathlost",
    "selectedcandidatepairchange",
}
"""The events whose handlers may take the change (StateChange, TransportChange,
SelectedCandidatePair)."""


def takes_argument(handler: Callable[..., Any]) -> bool:
    """Whether `handler` can be called with one positional argument."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.VAR_POSITIONAL,
    )
    return any(p.kind in positional for p in signature.parameters.values())


class _Started:
    """Awaitable that finishes a coroutine already run up to its first
    suspension, where it yielded `pending` (what `yield from` would do
    from there on, PEP 380)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self._coro, self._pending
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation included: pass it in
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _finish(started: _Started) -> Any:
    return await started


def start_eagerly(result: Any) -> Any:
    """Run a coroutine `result` up to its first suspension now; return a task
    for the rest, or `None` if it finished. Anything else is returned as is.
    An exception before the first suspension is raised here."""
    if not inspect.iscoroutine(result):
        return result
    try:
        pending = result.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(_Started(result, pending)))


class StateEventsMixin:
    """Mix into a pyee `AsyncIOEventEmitter` subclass, before it in the bases."""

    def _add_event_handler(
        self, event: str, k: Callable[..., Any], v: Callable[..., Any]
    ) -> None:
        # k is the user's function (the key remove_listener uses), v what pyee
        # calls: k itself, or pyee's once() wrapper that forwards its arguments.
        if event in CHANGE_EVENTS:
            call, passes_change = v, takes_argument(k)

            def v(*args: Any, **kwargs: Any) -> Any:
                return start_eagerly(call(*args, **kwargs) if passes_change else call())

        super()._add_event_handler(event, k, v)  # type: ignore[misc]

    def emit(self, event: str, *args: Any, **kwargs: Any) -> bool:
        if event == "error" and not self.listeners("error"):  # type: ignore[attr-defined]
            error = args[0] if args else None
            logger.error(
                "unhandled exception in an event handler of %r",
                self,
                exc_info=error if isinstance(error, BaseException) else None,
            )
            return False
        return super().emit(event, *args, **kwargs)  # type: ignore[misc,no-any-return]
