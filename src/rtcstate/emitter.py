"""pyee emitter behaviour shared by :class:`PeerConnection` and :func:`watch`.

Two additions to pyee's ``AsyncIOEventEmitter``:

* Handlers of ``connectionstatechange`` / ``iceconnectionstatechange`` (and
  rtcstate's ``transportstatechange``) may take no argument (aiortc's style:
  read ``pc.connectionState`` inside) or one argument, the change that fired
  them (:class:`~rtcstate.events.StateChange`, ``TransportChange``). The
  choice is made from the handler's signature when it is registered. This hooks
  pyee's ``_add_event_handler`` (pyee 13), which ``on``, ``once``, ``add_listener``
  and ``listens_to`` all go through; ``tests/test_emitter.py`` guards it.
* An exception from a handler goes to the ``"error"`` event as pyee does; when
  nobody listens to ``"error"`` it is logged instead of raised, so one failing
  handler never stops the other handlers or state tracking.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("rtcstate")

#: The two W3C state events.
STATE_EVENTS = frozenset({"connectionstatechange", "iceconnectionstatechange"})
#: The events whose handlers may take the change (StateChange, TransportChange).
CHANGE_EVENTS = STATE_EVENTS | {"transportstatechange"}


def takes_argument(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` can be called with one positional argument."""
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


class StateEventsMixin:
    """Mix into a pyee ``AsyncIOEventEmitter`` subclass, before it in the bases."""

    def _add_event_handler(
        self, event: str, k: Callable[..., Any], v: Callable[..., Any]
    ) -> None:
        # k is the user's function (the key remove_listener uses), v what pyee
        # calls: k itself, or pyee's once() wrapper that forwards its arguments.
        if event in CHANGE_EVENTS and not takes_argument(k):
            call = v

            def v(*_args: Any, **_kwargs: Any) -> Any:
                return call()

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
