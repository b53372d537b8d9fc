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
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection

from ._shims import InternalsChangedError
from .api import StateAPI
from .feed import UnreachableStateError

__all__ = ["Recovery", "RecoveryAttempt", "recover"]

logger = logging.getLogger("rtcstate")


@dataclass(frozen=True)
class RecoveryAttempt:
    """One attempt of a [`Recovery`][rtcstate.Recovery].

    :ivar number: 1 for the first attempt after a loss.
    :ivar trigger: what started it (`"disconnected for 0.5 s"`, `"failed"`).
    :ivar started: the loop's time it started.
    :ivar ended: the loop's time it ended.
    :ivar outcome: `"connected"`, or why not (`"renegotiation failed: ..."`,
        `"not connected 10.0 s after the restart"`, `"failed"`, `"closed"`).
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
        self._task = asyncio.ensure_future(self._run())

    @property
    def running(self) -> bool:
        """The policy still follows the connection."""
        return not self._task.done()

    def stop(self) -> None:
        """Stop the policy (an attempt under way is cancelled, its restart is not
        undone). Idempotent."""
        self._task.cancel()

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
            if state == "disconnected":
                try:
                    await pc.wait_for_connection_state(
                        "connected", "failed", "closed", timeout=self._grace
                    )
                    continue
                except asyncio.TimeoutError:
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
        for number in range(1, self._max_attempts + 1):
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
            pc._tracker.note(
                f"recovery attempt {number} of {self._max_attempts}: {outcome}"
            )
            if outcome == "closed":
                return False
            if number < self._max_attempts:
                await asyncio.sleep(self._backoff * 2 ** (number - 1))
                if pc.connectionState == "connected":
                    return True  # back by itself
        self.gave_up = (
            f"recovery gave up after {self._max_attempts} attempts "
            f"({self.attempts[-1].outcome})"
        )
        await self._close(self.gave_up)
        return False

    async def _attempt(self, number: int, trigger: str) -> str:
        pc = self._target
        try:
            pc._tracker.restart_ice(
                f"recovery attempt {number} of {self._max_attempts}: {trigger}"
            )
        except InternalsChangedError as exc:
            return f"cannot restart ICE: {exc}"
        try:
            await asyncio.wait_for(self._renegotiate(), self._timeout)
        except asyncio.TimeoutError:
            return f"renegotiation took more than {self._timeout:g} s"
        except Exception as exc:
            if pc.connectionState == "closed":
                return "closed"
            return f"renegotiation failed: {type(exc).__name__}: {exc}"
        try:
            await pc.wait_for_connection_state("connected", timeout=self._timeout)
        except asyncio.TimeoutError:
            return f"not connected {self._timeout:g} s after the restart"
        except UnreachableStateError:
            return str(pc.connectionState)  # failed, or closed
        return "connected"

    async def _close(self, why: str) -> None:
        target = self._target
        target._tracker.close(why)
        pc: RTCPeerConnection = getattr(target, "pc", target)  # type: ignore[arg-type]
        await pc.close()


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
    reads `failed`, the policy calls
    [`restartIce()`][rtcstate.api.StateAPI.restartIce] and then `renegotiate()`, which
    must send the offer `createOffer()` makes to the remote and apply its answer
    (the offer carries the new ICE credentials). It then waits up to `timeout`
    seconds for `connected`. An attempt that fails is followed by another after
    `backoff` seconds (doubled each time), up to `attempts`; after the last one the
    policy closes the connection and says why in `state_history`. Only one attempt
    runs at a time; the policy ends when the connection closes, or on
    [`Recovery.stop`][rtcstate.Recovery.stop].

    :param pc: a [`PeerConnection`][rtcstate.PeerConnection], or a watcher from
        [`watch`][rtcstate.watch].
    :param renegotiate: the application's signalling: a coroutine function taking
        no argument.
    :raises TypeError: for a `pc` that is neither, or a `renegotiate` that is not
        callable.
    :raises ValueError: for `grace`, `backoff` or `timeout` not positive and
        finite, or `attempts` below 1.
    """
    if not isinstance(pc, StateAPI):
        raise TypeError(
            "recover() needs an rtcstate PeerConnection or a watcher from "
            f"rtcstate.watch(), not {type(pc).__name__}"
        )
    if not callable(renegotiate):
        raise TypeError(
            f"renegotiate must be a coroutine function, not {renegotiate!r}"
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
    return Recovery(
        pc,
        renegotiate,
        grace=grace,
        attempts=attempts,
        backoff=backoff,
        timeout=timeout,
    )
