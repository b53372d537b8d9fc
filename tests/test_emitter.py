"""The pyee behaviour shared by PeerConnection and ConnectionWatcher."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pyee.asyncio import AsyncIOEventEmitter
from pyee.base import EventEmitter

from rtcstate._emitter import StateEventsMixin, takes_argument


class Emitter(StateEventsMixin, AsyncIOEventEmitter):
    pass


def test_pyee_registers_every_handler_through_the_hooked_method() -> None:
    # Guard: rtcstate adapts handlers in _add_event_handler; if pyee stops
    # routing on/once/add_listener/listens_to through it, this fails.
    calls: list[str] = []

    class Spy(EventEmitter):
        def _add_event_handler(self, event, k, v):  # type: ignore[no-untyped-def]
            calls.append(event)
            super()._add_event_handler(event, k, v)

    spy = Spy()
    spy.on("a", lambda: None)
    spy.once("b", lambda: None)
    spy.add_listener("c", lambda: None)
    spy.listens_to("d")(lambda: None)
    assert calls == ["a", "b", "c", "d"]


def test_takes_argument() -> None:
    def none() -> None: ...
    def one(change: object) -> None: ...
    def star(*args: object) -> None: ...
    def kw_only(*, change: object = None) -> None: ...

    assert not takes_argument(none)
    assert takes_argument(one)
    assert takes_argument(star)
    assert not takes_argument(kw_only)
    assert takes_argument(lambda c: None)


@pytest.mark.asyncio
async def test_state_handlers_get_the_change_only_if_they_take_it() -> None:
    emitter = Emitter()
    got: list[object] = []
    emitter.on("connectionstatechange", lambda: got.append("no-arg"))
    emitter.on("connectionstatechange", lambda change: got.append(change))
    emitter.once("connectionstatechange", lambda: got.append("once-no-arg"))
    emitter.once("connectionstatechange", lambda change: got.append(("once", change)))

    @emitter.on("connectionstatechange")
    async def coro(change: object) -> None:
        got.append(("async", change))

    emitter.emit("connectionstatechange", "X")
    emitter.emit("connectionstatechange", "Y")
    # the async handler starts inside emit, in registration order
    assert got == [
        "no-arg", "X", "once-no-arg", ("once", "X"), ("async", "X"),
        "no-arg", "Y", ("async", "Y"),
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_async_state_handlers_start_inside_emit_and_finish_as_tasks() -> None:
    emitter = Emitter()
    steps: list[str] = []
    release = asyncio.get_running_loop().create_future()

    @emitter.on("connectionstatechange")
    async def handler(change: str) -> str:
        steps.append(f"start {change}")
        await asyncio.sleep(0)  # a bare yield
        steps.append("after sleep(0)")
        value = await release  # a real future
        steps.append(f"got {value}")
        return value

    emitter.emit("connectionstatechange", "X")
    assert steps == ["start X"]  # before any loop iteration
    assert len(emitter._waiting) == 1  # the rest is a task, kept referenced
    await asyncio.sleep(0.01)
    assert steps == ["start X", "after sleep(0)"]
    release.set_result("v")
    await emitter.wait_for_complete()
    assert steps == ["start X", "after sleep(0)", "got v"]
    assert not emitter._waiting


@pytest.mark.asyncio
async def test_an_eagerly_started_handler_can_be_cancelled_and_can_fail_later() -> None:
    emitter = Emitter()
    errors: list[BaseException] = []
    emitter.on("error", errors.append)
    cleaned: list[str] = []

    @emitter.on("iceconnectionstatechange")
    async def waits_for_ever() -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            cleaned.append("finally")

    @emitter.on("connectionstatechange")
    async def fails_after_await() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("later boom")

    emitter.emit("iceconnectionstatechange", "X")
    emitter.emit("connectionstatechange", "X")
    await asyncio.sleep(0.01)
    assert [str(e) for e in errors] == ["later boom"]
    emitter.cancel()  # pyee's cancel reaches the eagerly started handler
    await asyncio.sleep(0.01)
    assert cleaned == ["finally"]
    assert errors == errors[:1]  # a cancellation is not an error


def test_remove_listener_takes_the_function_the_user_registered() -> None:
    emitter = Emitter()
    got: list[str] = []

    def handler() -> None:
        got.append("called")

    emitter.on("iceconnectionstatechange", handler)
    assert emitter.listeners("iceconnectionstatechange") == [handler]
    emitter.remove_listener("iceconnectionstatechange", handler)
    emitter.emit("iceconnectionstatechange", "X")
    assert got == []


def test_other_events_pass_arguments_unchanged() -> None:
    emitter = Emitter()
    got: list[tuple[object, ...]] = []
    emitter.on("datachannel", lambda *args: got.append(args))
    emitter.emit("datachannel", 1, 2)
    assert got == [(1, 2)]


@pytest.mark.asyncio
async def test_a_raising_handler_goes_to_error_and_does_not_stop_the_others() -> None:
    emitter = Emitter()
    errors: list[BaseException] = []
    after: list[str] = []
    emitter.on("error", errors.append)

    def bad() -> None:
        raise RuntimeError("sync boom")

    async def bad_async() -> None:
        raise RuntimeError("async boom")

    emitter.on("connectionstatechange", bad)
    emitter.on("connectionstatechange", bad_async)
    emitter.on("connectionstatechange", lambda: after.append("ran"))
    emitter.emit("connectionstatechange", "X")
    await asyncio.sleep(0.01)
    assert after == ["ran"]
    assert sorted(str(e) for e in errors) == ["async boom", "sync boom"]


@pytest.mark.asyncio
async def test_without_error_listener_handler_exceptions_are_logged_not_raised(
    caplog,
) -> None:
    emitter = Emitter()
    after: list[str] = []

    def bad() -> None:
        raise RuntimeError("nobody listens")

    emitter.on("connectionstatechange", bad)
    emitter.on("connectionstatechange", lambda: after.append("ran"))
    with caplog.at_level(logging.ERROR, logger="rtcstate"):
        emitter.emit("connectionstatechange", "X")  # must not raise
    assert after == ["ran"]
    record = caplog.records[-1]
    assert record.name == "rtcstate"
    assert record.exc_info is not None and str(record.exc_info[1]) == "nobody listens"
