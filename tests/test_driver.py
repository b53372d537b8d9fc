"""rtcstate._driver.LivenessDriver, the asyncio side of the liveness monitor, on a
stand-in for the selected candidate pair (end to end: test_liveness_e2e.py)."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.asyncio


class _FakePair:
    """Stands in for the selected pair: records keepalives, answers on demand."""

    def __init__(self, fails: bool = False) -> None:
        self.sent = 0
        self.fails = fails
        self.watching = False
        self.on_answer: object = None
        self.pair = object()  # the aioice pair it is on
        self.responses_received = 0  # measured answers (the tap's counter)
        self.current_rtt: float | None = None

    def watch(self, on_packet: object, on_answer: object, on_error: object) -> None:
        self.on_answer = on_answer
        self.watching = True

    def unwatch(self) -> None:
        self.watching = False

    def send_keepalive(self) -> bool:
        self.sent += 1
        if self.fails:
            raise AttributeError("no is_closing")
        return True


async def test_an_answer_moves_the_armed_timer_to_the_next_grid_point() -> None:
    # Without this, every connection would wake the loop once more per keepalive
    # (at the probe deadline, off the grid) only to find nothing due.
    from rtcstate._driver import LivenessDriver
    from rtcstate.liveness import LivenessConfig, LivenessMonitor

    cfg = LivenessConfig(
        keepalive_interval=0.1,
        probe_after=0.15,
        probe_interval=0.01,
        disconnected_probe_interval=0.05,
        disconnected_timeout=0.5,
        failed_timeout=5,
        keepalive_grid=0.01,
    )
    fake = _FakePair()
    now = asyncio.get_running_loop().time()
    driver = LivenessDriver(
        LivenessMonitor(cfg, now),
        fake,  # type: ignore[arg-type]
        lambda *args: None,
        _unexpected,
    )
    try:
        for _ in range(100):
            if fake.sent:
                break
            await asyncio.sleep(0.01)
        assert fake.sent == 1
        sent_at = asyncio.get_running_loop().time()
        handle = driver._handle
        assert handle is not None and handle.when() < sent_at + 0.15 + 0.01
        fake.on_answer(asyncio.get_running_loop().time())  # type: ignore[operator]
        assert driver._handle is not None
        assert driver._handle.when() == driver._core.get_timer()
        assert driver._handle.when() > handle.when()  # later: the healthy pace
        assert handle.cancelled()
    finally:
        driver.stop()


def _unexpected(exc: Exception) -> None:
    raise AssertionError("the driver faulted") from exc


async def test_an_error_inside_the_driver_stops_it_and_is_reported_once() -> None:
    # A keepalive that cannot be sent (here: raises) must not escape into the
    # loop's timer callback, nor leave a tap or a timer behind.
    from rtcstate._driver import LivenessDriver
    from rtcstate.liveness import LivenessMonitor
    from rtcstate.testing import FAST_LIVENESS

    fake = _FakePair(fails=True)
    faults: list[Exception] = []
    verdicts: list[object] = []
    driver = LivenessDriver(
        LivenessMonitor(FAST_LIVENESS, asyncio.get_running_loop().time()),
        fake,  # type: ignore[arg-type]
        lambda *args: verdicts.append(args),
        faults.append,
    )
    try:
        for _ in range(100):
            if faults:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(FAST_LIVENESS.keepalive_interval * 2)
        assert [type(f) for f in faults] == [AttributeError]
        assert fake.sent == 1  # stopped at the first failure
        assert not fake.watching
        assert driver._handle is None
        assert verdicts == []
    finally:
        driver.stop()
