"""Never worse than aiortc: every hook rtcstate puts into aiortc or aioice fails safe.

Each hook is made to raise in turn, on both peers (real aiortc peers over
loopback). The connection must still connect, carry data-channel messages both
ways and close cleanly; nothing may reach asyncio's exception handler. Where the
hook belongs to one transport's liveness, liveness goes off for that transport,
its history says why, the ``rtcstate`` logger warns once per transport with the
traceback, and aioice's own consent checks run again (as with ``liveness=None``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice.ice
import pytest

import rtcstate
from rtcstate import _shims, rules
from rtcstate import _tap as tap
from rtcstate._shims import gather as gather_shim
from rtcstate._transports import Transports
from rtcstate.liveness import LivenessMonitor
from rtcstate.testing import FAST_LIVENESS, negotiate
from tests.support.peers import config

pytestmark = pytest.mark.asyncio

INJECTED = "injected"
OFF = f"liveness off: internal error (RuntimeError: {INJECTED})"


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(INJECTED)


# (object, attribute) made to raise: the hooks of one transport's liveness
LIVENESS_HOOKS = [
    pytest.param(tap.SelectedPair, "_is_answer", id="tap: answer recognition"),
    pytest.param(tap.SelectedPair, "_answer", id="tap: hand-built answers"),
    pytest.param(tap.SelectedPair, "send_keepalive", id="keepalive send"),
    pytest.param(LivenessMonitor, "packet_received", id="tap: packet seen"),
    pytest.param(LivenessMonitor, "handle_timer", id="driver timer"),
    pytest.param(tap, "selected_pair", id="selected pair lookup"),
    pytest.param(_shims, "take_over_consent", id="consent takeover"),
]
# (object, attribute, whether the states are still tracked) for the others
OTHER_HOOKS = [
    pytest.param(_shims, "connection_hooks", True, id="close guards"),
    pytest.param(Transports, "_subscribe", False, id="signalling: transports"),
    pytest.param(rules, "connection_state", False, id="state step"),
    pytest.param(
        _shims, "remote_end_of_candidates", False, id="end-of-candidates read"
    ),
    pytest.param(Transports, "close", True, id="close"),
]


@contextlib.asynccontextmanager
async def _peers(
    **kwargs: Any,
) -> AsyncIterator[tuple[rtcstate.PeerConnection, rtcstate.PeerConnection]]:
    a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS, **kwargs)
    b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS, **kwargs)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def _connect_and_exchange(
    a: rtcstate.PeerConnection, b: rtcstate.PeerConnection
) -> None:
    """Connect ``a`` and ``b`` with a data channel and check messages both ways,
    judging by aiortc's own objects (rtcstate's states may be what broke)."""
    channel_a = a.createDataChannel("x")
    at_a: list[str] = []
    at_b: list[str] = []
    channels_b: list[Any] = []
    channel_a.on("message", at_a.append)

    @b.on("datachannel")
    def on_channel(channel: Any) -> None:
        channels_b.append(channel)
        channel.on("message", at_b.append)

    await negotiate(a, b)
    await _until(lambda: channel_a.readyState == "open" and bool(channels_b))
    # keep the connection busy past a few keepalive intervals, so the liveness
    # hooks (keepalives, answers, timers) have run many times
    for i in range(10):
        channel_a.send(f"a{i}")
        channels_b[0].send(f"b{i}")
        await asyncio.sleep(FAST_LIVENESS.keepalive_interval / 2)
    await _until(lambda: len(at_a) == 10 and len(at_b) == 10)
    assert at_b == [f"a{i}" for i in range(10)]
    assert at_a == [f"b{i}" for i in range(10)]
    for pc in (a, b):
        assert pc.sctp.transport.transport.state == "completed"  # aiortc's ICE


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


def _asyncio_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    # "Exception in callback ..." and "Task exception was never retrieved"
    # (debug mode's slow-callback warnings are not errors)
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "asyncio" and r.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize(("owner", "name"), LIVENESS_HOOKS)
async def test_a_liveness_hook_that_raises_switches_liveness_off_for_its_transport(
    monkeypatch: pytest.MonkeyPatch,
    errors: pytest.LogCaptureFixture,
    owner: object,
    name: str,
) -> None:
    monkeypatch.setattr(owner, name, _raise)
    async with _peers() as (a, b):
        await _connect_and_exchange(a, b)
        for pc in (a, b):
            assert pc.connectionState == "connected"
            offs = [c for c in pc.transport_history if c.detail == OFF]
            assert len(offs) == 1, pc.transport_history
            assert offs[0].kind == "ice"
            # aioice checks consent itself again, as with liveness=None
            consent = pc.sctp.transport.transport._connection._query_consent_task
            assert consent is not None and not consent.done()
        warnings = [
            r
            for r in errors.records
            if r.name == "rtcstate" and "liveness off" in r.getMessage()
        ]
        assert len(warnings) == 2  # once per transport, one transport per peer
        assert all(r.exc_info is not None for r in warnings)
    assert _asyncio_errors(errors) == []
    assert a.connectionState == b.connectionState == "closed"


@pytest.mark.parametrize(("owner", "name", "tracked"), OTHER_HOOKS)
async def test_a_tracker_hook_that_raises_leaves_the_connection_working(
    monkeypatch: pytest.MonkeyPatch,
    errors: pytest.LogCaptureFixture,
    owner: object,
    name: str,
    tracked: bool,
) -> None:
    monkeypatch.setattr(owner, name, _raise)
    async with _peers() as (a, b):
        await _connect_and_exchange(a, b)
        if tracked:  # the failure is contained below the state tracking
            assert a.connectionState == b.connectionState == "connected"
    for pc in (a, b):
        assert pc.sctp.transport.transport.state == "closed"  # aiortc closed it
    warnings = [r for r in errors.records if r.name == "rtcstate"]
    assert warnings, "the error was not logged"
    assert warnings[0].exc_info is not None
    assert _asyncio_errors(errors) == []


async def test_a_failing_loopback_candidate_does_not_fail_the_gathering(
    monkeypatch: pytest.MonkeyPatch, errors: pytest.LogCaptureFixture
) -> None:
    """rtcstate.PeerConnection gathers itself (rtcstate._gathering)."""
    original = gather_shim.bind_host

    async def no_loopback(conn: Any, address: str, component: int) -> Any:
        if address == "127.0.0.1":
            raise OSError(INJECTED)
        return await original(conn, address, component)

    monkeypatch.setattr(gather_shim, "bind_host", no_loopback)
    async with _peers(loopback="always") as (a, b):
        await _connect_and_exchange(a, b)
        assert "127.0.0.1" not in a.localDescription.sdp
    assert any("could not bind to 127.0.0.1" in r.getMessage() for r in errors.records)
    assert _asyncio_errors(errors) == []


async def test_a_failing_loopback_candidate_does_not_fail_a_watched_gathering(
    monkeypatch: pytest.MonkeyPatch, errors: pytest.LogCaptureFixture
) -> None:
    """A watched aiortc connection gathers as aiortc does, plus the loopback
    candidate of rtcstate._guards."""
    from aiortc import RTCPeerConnection

    original = aioice.ice.Connection.get_component_candidates

    async def no_loopback(self: Any, component: int, addresses: list[str]) -> Any:
        if addresses == ["127.0.0.1"]:
            raise OSError(INJECTED)
        return await original(self, component=component, addresses=addresses)

    monkeypatch.setattr(aioice.ice.Connection, "get_component_candidates", no_loopback)
    a, b = RTCPeerConnection(config()), RTCPeerConnection(config())
    for pc in (a, b):
        rtcstate.watch(pc, liveness=FAST_LIVENESS, loopback="always")
    try:
        await _connect_and_exchange(a, b)  # type: ignore[arg-type]
    finally:
        await a.close()
        await b.close()
    assert any("no 127.0.0.1 candidate" in r.getMessage() for r in errors.records)
    assert _asyncio_errors(errors) == []


async def test_a_pc_watched_with_a_failing_hook_still_connects(
    monkeypatch: pytest.MonkeyPatch, errors: pytest.LogCaptureFixture
) -> None:
    # watch() installs its hooks on an aiortc connection made elsewhere
    from aiortc import RTCPeerConnection

    monkeypatch.setattr(tap.SelectedPair, "_is_answer", _raise)
    a, b = RTCPeerConnection(config()), RTCPeerConnection(config())
    watchers = [rtcstate.watch(pc, liveness=FAST_LIVENESS) for pc in (a, b)]
    try:
        await _connect_and_exchange(a, b)  # type: ignore[arg-type]
        for watcher in watchers:
            assert watcher.connectionState == "connected"
            assert any(
                (c.detail or "").startswith("liveness off")
                for c in watcher.transport_history
            )
    finally:
        await a.close()
        await b.close()
    assert _asyncio_errors(errors) == []
