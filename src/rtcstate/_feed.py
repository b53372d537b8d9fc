"""The change feed of one connection: histories, waiters and async iterators.

It is handed each step's changes after the state machine made them, keeps them
in two bounded histories, wakes the `wait_for…` calls whose states were
reached (or fails those that can no longer be), and queues the changes for
every [`StateChanges`][rtcstate.StateChanges] iterator. It decides no state.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from ._events import Attribute, StateChange, TransportChange
from .rules import ATTRIBUTES
from .states import IceConnectionState, PeerConnectionState

__all__ = ["ChangeFeed", "StateChanges", "UnreachableStateError"]

S = TypeVar("S", PeerConnectionState, IceConnectionState)


class UnreachableStateError(Exception):
    """A waited-for state can no longer be reached (for example: the connection
    was closed while waiting for `connected`)."""


class ChangeFeed:
    """Histories, waiters and iterators of one connection's changes.

    :param history_size: how many changes each history keeps (at least one).
    :param current: returns the current value of an attribute.
    """

    __slots__ = (
        "_current",
        "_ended",
        "_history",
        "_history_size",
        "_iterators",
        "_transport_history",
        "_waiters",
    )

    def __init__(
        self,
        history_size: int,
        current: Callable[[Attribute], PeerConnectionState | IceConnectionState],
    ) -> None:
        # Lists trimmed to history_size, not deques: an empty deque takes a
        # 600-byte block, which hundreds of connections notice in their RSS.
        self._history_size = history_size
        self._current = current
        self._history: list[StateChange] = []
        self._transport_history: list[TransportChange] = []
        # a dict as a set: an empty set takes 216 bytes, an empty dict 64
        self._waiters: dict[
            tuple[asyncio.Future[Any], Attribute, frozenset[Any]], None
        ] = {}
        # made on first use: a WeakSet is 1 kB, and most connections never
        # iterate over their changes
        self._iterators: weakref.WeakSet[StateChanges[Any]] | None = None
        self._ended = False

    @property
    def history(self) -> list[StateChange]:
        return list(self._history)

    @property
    def transport_history(self) -> list[TransportChange]:
        return list(self._transport_history)

    @property
    def waiting(self) -> int:
        """How many `wait_for` calls are pending."""
        return len(self._waiters)

    def record(
        self, transport_changes: list[TransportChange], changes: list[StateChange]
    ) -> None:
        """Keep one step's changes in the histories."""
        self._trim(self._transport_history, transport_changes)
        self._trim(self._history, changes)

    def publish(self, changes: list[StateChange]) -> None:
        """Hand aggregate changes to the iterators, then settle the waiters."""
        for change in changes:
            for iterator in list(self._iterators or ()):
                iterator._push(change)
        for future, attribute, wanted in list(self._waiters):
            if future.done():
                continue
            current = self._current(attribute)
            if current in wanted:
                future.set_result(current)
                continue
            try:
                _check_reachable(attribute, current, wanted)
            except UnreachableStateError as error:
                future.set_exception(error)

    def end(self) -> None:
        """The connection closed: every iterator ends after what it holds."""
        self._ended = True
        for iterator in list(self._iterators or ()):
            iterator._push(None)
        self._iterators = None

    async def wait_for(
        self, attribute: Attribute, states: Iterable[str], timeout: float | None
    ) -> Any:
        """Wait until `attribute` is one of `states`; return it."""
        wanted = ATTRIBUTES[attribute].coerce(states)
        if not wanted:
            raise ValueError(f"wait for which {attribute}? Give at least one state")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, not {timeout!r}")
        current = self._current(attribute)
        if current in wanted:
            return current
        _check_reachable(attribute, current, wanted)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = (future, attribute, wanted)
        self._waiters[waiter] = None
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            names = " or ".join(sorted(str(s) for s in wanted))
            raise TimeoutError(
                f"{attribute} did not become {names} within {timeout} s: "
                f"it is {self._current(attribute)}"
            ) from None
        finally:
            self._waiters.pop(waiter, None)

    def changes(self, attribute: Attribute) -> StateChanges[Any]:
        """A new iterator of `attribute`'s changes from now on."""
        return StateChanges(self, attribute)

    def _subscribe(self, iterator: StateChanges[Any]) -> bool:
        if self._ended:
            return False
        if self._iterators is None:
            self._iterators = weakref.WeakSet()
        self._iterators.add(iterator)
        return True

    def _unsubscribe(self, iterator: StateChanges[Any]) -> None:
        if self._iterators is not None:
            self._iterators.discard(iterator)

    def _trim(self, history: list[Any], items: list[Any]) -> None:
        history.extend(items)
        if len(history) > self._history_size:
            del history[: len(history) - self._history_size]


class StateChanges(Generic[S]):
    """Async iterator of every change of one attribute from its creation on.

    It is registered when created (not at the first `__anext__`), so no change
    between creation and iteration is missed. It yields the final change to
    `closed` (made by `close()`, which fires no event) and then stops.
    """

    def __init__(self, feed: ChangeFeed, attribute: Attribute) -> None:
        self._attribute = attribute
        self._queue: asyncio.Queue[StateChange | None] = asyncio.Queue()
        self._feed: ChangeFeed | None = feed
        if not feed._subscribe(self):
            self._queue.put_nowait(None)

    def _push(self, change: StateChange | None) -> None:
        if change is None or change.attribute == self._attribute:
            self._queue.put_nowait(change)

    def __aiter__(self) -> StateChanges[S]:
        return self

    async def __anext__(self) -> StateChange:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stay exhausted
            await self.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop receiving changes."""
        if self._feed is not None:
            self._feed._unsubscribe(self)
            self._feed = None


def _check_reachable(
    attribute: Attribute, current: Any, wanted: frozenset[Any]
) -> None:
    if wanted.isdisjoint(ATTRIBUTES[attribute].reachable(current)):
        names = " or ".join(sorted(str(s) for s in wanted))
        raise UnreachableStateError(
            f"{attribute} can no longer become {names}: it is {current}"
            + (" (close() was called)" if str(current) == "closed" else " (terminal)")
        )
