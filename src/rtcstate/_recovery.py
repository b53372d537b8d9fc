"""`rtcstate.recover()`: repair a lost path in place, with ICE restarts.

Theory of operation
-------------------
One task per connection follows `connectionState`:

* `disconnected` for longer than `grace`, or `failed`, starts an attempt:
  `restartIce()`, then the application's `renegotiate()` coroutine (our offer out, the
  answer back), then a wait for `connected`;
* an attempt that does not reach `connected` within `timeout` is followed, after a
  back-off that doubles each time, by the next one, while the connection is still not
  `connected`;
* after the last attempt the policy gives up and closes the connection, saying why
  (`close() called (recovery gave up: ...)` in `state_history`).

Attempts never overlap. Each is recorded in [`Recovery.attempts`][rtcstate.Recovery],
and in `transport_history` (and so in the timeline): its restart with the cause
`ICE restart (recovery attempt 1 of 3: failed)`, and an attempt that did not reach
`connected` with its outcome (`recovery attempt 1 of 3: renegotiation failed: ...`).
The policy ends when the connection closes, or on
[`Recovery.stop`][rtcstate.Recovery.stop].
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.exceptions import InvalidStateError

from . import _netmon
from ._feed import UnreachableStateError
from ._frontend import Control, StateAPI
from ._netlink import NetworkChange
from ._shims import InternalsChangedError
from ._transport_liveness import is_path_lost

__all__ = ["Recovery", "RecoveryAttempt", "recover"]

logger = logging.getLogger("rtcstate")


@dataclass(frozen=True)
class RecoveryAttempt:
    """One attempt of a [`Recovery`][rtcstate.Recovery].

    :ivar number: 1 for the first attempt after a loss.
    :ivar trigger: the state it restarted from: `"disconnected for 0.5 s"` or
        `"failed"` for the first attempt after a loss, the state then
        (`"failed"`, `"disconnected"`, `"connecting"`) for the next ones.
    :ivar started: the loop's time it started.
    :ivar ended: the loop's time it ended.
    :ivar outcome: `"connected"`, or why not: `"cannot restart ICE: ..."`,
        `"renegotiation failed: <error>"`, `"renegotiation took more than 10 s"`,
        `"not connected 10 s after the restart"` (with the policy's `timeout`),
        `"failed"` or `"closed"`.
    """

    number: int
    trigger: str
    started: float
    ended: float
    outcome: str

    @property
    def succeeded(self) -> bool:
        return self.outcome == "connected"


class Recovery:
    """A running recovery policy (see [`recover`][rtcstate.recover])."""

    def __init__(
        self,
        target: StateAPI,
        renegotiate: Callable[[], Awaitable[Any]],
        *,
        grace: float,
        attempts: int,
        backoff: float,
        timeout: float,
    ) -> None:
        self._target = target
        self._renegotiate = renegotiate
        self._grace = grace
        self._max_attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self.attempts: list[RecoveryAttempt] = []
        """every attempt so far, oldest first"""
        self.gave_up: str | None = None
        """why the policy closed the connection, if it did"""
        self._renegotiation: asyncio.Future[Any] | None = None
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._ended)

    @property
    def running(self) -> bool:
        """The policy still follows the connection."""
        return not self._task.done()

    def stop(self) -> None:
        """Stop the policy. Idempotent.

        An attempt under way ends there; what it started goes on: its ICE
        restart is not undone, and a `renegotiate()` still running is not
        cancelled (its answer, if one comes, is applied by it). Signalling stays
        where the application's coroutine leaves it, such as `have-local-offer`
        until the answer arrives. Another policy can be started on the
        connection once this one is stopped."""
        self._task.cancel()

    def _ended(self, task: asyncio.Future[None]) -> None:
        if _RUNNING.get(self._target) is self:
            del _RUNNING[self._target]

    async def wait_stopped(self) -> None:
        """Wait until the policy ends: the connection closed, or `stop()`."""
        await asyncio.gather(self._task, return_exceptions=True)

    # --- the policy -------------------------------------------------------------

    async def _run(self) -> None:
        pc = self._target
        while True:
            state = pc.connectionState
            if state == "closed":
                return
            if state == "disconnected" and (lost := _path_gone(pc)) is not None:
                # the operating system said the path is gone: no grace, it
                # cannot come back by itself
                trigger = lost
            elif state == "disconnected":
                try:
                    await pc.wait_for_connection_state(
                        "connected", "failed", "closed", timeout=self._grace
                    )
                    continue
                except TimeoutError:
                    trigger = f"disconnected for {self._grace:g} s"
            elif state == "failed":
                trigger = "failed"
            else:
                await pc.wait_for_connection_state("disconnected", "failed", "closed")
                continue
            if not await self._attempt_all(trigger):
                return

    async def _attempt_all(self, trigger: str) -> bool:
        """Attempts until `connected`; `False` once given up (or closed)."""
        loop = asyncio.get_running_loop()
        pc = self._target
        news: str | None = None
        for number in range(1, self._max_attempts + 1):
            if number > 1:
                # never two offers outstanding: a late answer to the last
                # attempt's offer is applied first, and may be enough
                if await self._renegotiation_ended() and await self._connected():
                    return True
                # what this attempt restarts from, and the network's news that
                # cut the back-off short, if any
                state = str(pc.connectionState)
                trigger = state if news is None else f"{news} while {state}"
            if pc.connectionState == "closed":
                return False
            started = loop.time()
            outcome = await self._attempt(number, trigger)
            self.attempts.append(
                RecoveryAttempt(number, trigger, started, loop.time(), outcome)
            )
            logger.info("recovery attempt %d (%s): %s", number, trigger, outcome)
            if outcome == "connected":
                return True
            Control(pc).note(
                f"recovery attempt {number} of {self._max_attempts}: {outcome}"
            )
            if outcome == "closed":
                return False
            if number < self._max_attempts:
                news = await self._back_off(self._backoff * 2 ** (number - 1))
                if pc.connectionState == "connected":
                    return True  # back by itself
        self.gave_up = (
            f"recovery gave up after {self._max_attempts} attempts "
            f"({self.attempts[-1].outcome})"
        )
        await self._renegotiation_ended()
        await self._close(self.gave_up)
        return False

    async def _back_off(self, seconds: float) -> str | None:
        """Wait `seconds` between attempts, or less: an address or interface
        coming up (the process's network monitor) ends the wait, as a new path
        may work now. What came, or `None` if the wait ran out."""
        came: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def changed(change: NetworkChange) -> None:
            if change.kind in ("address-added", "link-up") and not came.done():
                came.set_result(str(change))

        try:
            unsubscribe = _netmon.monitor().subscribe(changed)
        except Exception:  # no monitor: the back-off runs out, as before
            logger.warning("rtcstate: no network monitor", exc_info=True)
            await asyncio.sleep(seconds)
            return None
        try:
            await asyncio.wait_for(asyncio.shield(came), seconds)
        except TimeoutError:
            return None
        finally:
            unsubscribe()
            came.cancel()
        return came.result()

    async def _attempt(self, number: int, trigger: str) -> str:
        pc = self._target
        try:
            Control(pc).restart_ice(
                f"recovery attempt {number} of {self._max_attempts}: {trigger}"
            )
        except InternalsChangedError as exc:
            return f"cannot restart ICE: {exc}"
        # The application's coroutine is never cancelled: its offer is out, and
        # an answer may still come; the next attempt waits for it to end.
        task = asyncio.ensure_future(self._renegotiate())
        task.add_done_callback(_retrieve)
        self._renegotiation = task
        done, _ = await asyncio.wait({task}, timeout=self._timeout)
        if not done:
            return f"renegotiation took more than {self._timeout:g} s"
        error = task.exception()
        if error is not None:
            if pc.connectionState == "closed":
                return "closed"
            return f"renegotiation failed: {type(error).__name__}: {error}"
        try:
            await pc.wait_for_connection_state("connected", timeout=self._timeout)
        except TimeoutError:
            return f"not connected {self._timeout:g} s after the restart"
        except UnreachableStateError:
            return str(pc.connectionState)  # failed, or closed
        return "connected"

    async def _renegotiation_ended(self) -> bool:
        """Wait until the last attempt's `renegotiate()` has ended, however long
        the application's signalling takes (it bounds itself); whether it ended
        late, with no error (its answer was applied after the attempt gave up)."""
        task = self._renegotiation
        if task is None or task.done():
            return False
        logger.warning(
            "recovery: renegotiate() has run for more than %g s; the next "
            "attempt waits until it ends (give your signalling a timeout)",
            self._timeout,
        )
        await asyncio.wait({task})
        return not task.cancelled() and task.exception() is None

    async def _connected(self) -> bool:
        """Whether the connection reads `connected` within `timeout` (through
        `failed`, which a restart under way can leave)."""
        pc = self._target
        changes = pc.connection_state_changes()
        if pc.connectionState == "connected":
            return True

        async def connected() -> bool:
            async for change in changes:
                if change.current == "connected":
                    return True
            return False  # closed

        try:
            return await asyncio.wait_for(connected(), self._timeout)
        except TimeoutError:
            return False

    async def _close(self, why: str) -> None:
        target = self._target
        Control(target).close(why)
        pc: RTCPeerConnection = getattr(target, "pc", target)  # type: ignore[arg-type]
        await pc.close()


def _path_gone(pc: StateAPI) -> str | None:
    """The reason of the latest `connectionState` change, if it was a path the
    operating system said is gone (its local address went away, its interface
    down), else `None`."""
    for change in reversed(pc.state_history):
        if change.attribute == "connectionState":
            detail = change.cause.detail
            return detail if is_path_lost(detail) else None
    return None


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a renegotiation's exception as seen: the attempt reports it, or
    nobody waits for it any more (the policy stopped)."""
    if not task.cancelled():
        task.exception()


# the running policy of each connection (one at a time)
_RUNNING: weakref.WeakKeyDictionary[StateAPI, Recovery] = weakref.WeakKeyDictionary()


def recover(
    pc: StateAPI,
    renegotiate: Callable[[], Awaitable[Any]],
    *,
    grace: float = 0.5,
    attempts: int = 3,
    backoff: float = 1.0,
    timeout: float = 10.0,
) -> Recovery:
    """Repair lost paths of `pc` in place, with ICE restarts.

    ```python
    async def renegotiate() -> None:
        await pc.setLocalDescription(await pc.createOffer())
        answer = await signalling.exchange(pc.localDescription)
        await pc.setRemoteDescription(answer)

    recovery = rtcstate.recover(pc, renegotiate)
    ```

    When `connectionState` stays `disconnected` for longer than `grace` seconds, or
    reads `failed`, or reads `disconnected` because the operating system said the
    path's local address went away (or its interface down: no grace then), the
    policy calls
    [`restartIce()`][rtcstate._frontend.StateAPI.restartIce] and then `renegotiate()`,
    which must send the offer `createOffer()` makes to the remote and apply its answer
    (the offer carries the new ICE credentials). It then waits up to `timeout` seconds
    for `connected`. An attempt that fails is followed by another after `backoff`
    seconds (doubled each time), up to `attempts`; after the last one the policy closes
    the connection and says why in `state_history`. Only one attempt runs at a time; the
    policy ends when the connection closes, or on
    [`Recovery.stop`][rtcstate.Recovery.stop].

    `renegotiate()` is never cancelled: an offer that is out may still be
    answered. An attempt whose `renegotiate()` has not returned within `timeout`
    has failed (`"renegotiation took more than 10 s"`), and the next attempt
    waits until it returns, so that two offers are never outstanding and a late
    answer is applied to the offer it answers. Bound your signalling yourself
    (a timeout on the answer's arrival that raises): the policy waits as long as
    the coroutine runs.

    :param pc: a [`PeerConnection`][rtcstate.PeerConnection], or a watcher from
        [`watch`][rtcstate.watch], not closed, with no other policy running.
    :param renegotiate: the application's signalling: a coroutine function
        (`async def`) taking no argument.
    :param grace: seconds `disconnected` may last before an attempt starts.
    :param attempts: attempts after a loss before the policy gives up and
        closes the connection.
    :param backoff: seconds between the first two attempts, doubled each time.
    :param timeout: seconds `renegotiate()` has, then seconds the restarted
        connection has to read `connected`, in each attempt.
    :raises TypeError: for a `pc` that is neither, or a `renegotiate` that is not
        a coroutine function.
    :raises ValueError: for `grace`, `backoff` or `timeout` not positive and
        finite, or `attempts` below 1.
    :raises InvalidStateError: (aiortc's) for a closed connection, or one whose
        earlier policy still runs.
    """
    if not isinstance(pc, StateAPI):
        raise TypeError(
            "recover() needs an rtcstate PeerConnection or a watcher from "
            f"rtcstate.watch(), not {type(pc).__name__}"
        )
    if not _is_coroutine_function(renegotiate):
        raise TypeError(
            "renegotiate must be a coroutine function (async def) taking no "
            f"argument, not {renegotiate!r}"
        )
    for name, value in (("grace", grace), ("backoff", backoff), ("timeout", timeout)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 < value < float("inf")
        ):
            raise ValueError(
                f"{name} must be a positive number of seconds, not {value!r}"
            )
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be an int of at least 1, not {attempts!r}")
    if pc.connectionState == "closed":
        raise InvalidStateError("recover(): the connection is closed")
    running = _RUNNING.get(pc)
    if running is not None and running.running:
        raise InvalidStateError(
            "recover(): a recovery policy already runs on this connection; "
            "stop() it first"
        )
    policy = _RUNNING[pc] = Recovery(
        pc,
        renegotiate,
        grace=grace,
        attempts=attempts,
        backoff=backoff,
        timeout=timeout,
    )
    return policy


def _is_coroutine_function(function: object) -> bool:
    """`async def` functions and methods, partials of them, and objects whose
    `__call__` is one."""
    return inspect.iscoroutinefunction(function) or (
        callable(function) and inspect.iscoroutinefunction(type(function).__call__)
    )
