"""rtcstate._netmon: the process's network monitor, on rtnetlink and polling,
watching changes made inside a network namespace of the test's own."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from rtcstate._netmon import NetworkMonitor
from tests.support.netns import netns, run_script


def _probe(mode: str) -> dict[str, Any]:
    with netns() as ns:
        ns.ip("link", "add", "wifi", "type", "veth", "peer", "name", "wifi-peer")
        ns.ip("link", "set", "wifi-peer", "up")
        ns.ip("link", "set", "wifi", "up")
        ns.ip("address", "add", "10.71.0.1/24", "dev", "wifi")
        return run_script(ns, "tests.support.netmon_probe", "--mode", mode, timeout=60)


def test_rtnetlink_tells_each_change_as_it_happens() -> None:
    result = _probe("netlink")
    assert result["mode"] == "netlink"
    changes = [step["change"] for step in result["steps"]]
    assert changes == [
        "address removed: 10.71.0.1 (wifi)",
        "address added: 10.71.0.2 (wifi)",
        "link down: wifi",
        "link up: wifi",
    ], result["steps"]
    # event-driven: well within one poll interval (0.2 s), let alone 3 s
    assert max(step["seconds"] for step in result["steps"]) < 1.0, result["steps"]
    assert result["mode_after"] == "stopped"


def test_polling_tells_address_changes() -> None:
    result = _probe("polling")
    assert result["mode"] == "polling"
    assert [step["change"] for step in result["steps"]] == [
        "address removed: 10.71.0.1 (wifi)",
        "address added: 10.71.0.2 (wifi)",
    ], result["steps"]
    assert result["mode_after"] == "stopped"


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.asyncio
@pytest.mark.parametrize("netlink", [True, False])
async def test_it_runs_only_while_someone_subscribes(netlink: bool) -> None:
    before = _open_descriptors()
    tasks = len(asyncio.all_tasks())
    monitor = NetworkMonitor(poll_interval=0.05, netlink=netlink)
    assert monitor.mode == "stopped"
    end_first = monitor.subscribe(lambda change: None)
    end_second = monitor.subscribe(lambda change: None)
    assert monitor.mode == ("netlink" if netlink else "polling")
    if netlink:
        assert _open_descriptors() == before + 1  # its socket
    await asyncio.sleep(0.15)  # a few polls, or nothing to read
    end_first()
    assert monitor.mode != "stopped"  # one subscriber left
    end_second()
    assert monitor.mode == "stopped"
    assert _open_descriptors() == before
    assert len(asyncio.all_tasks()) == tasks
    # and again, from stopped
    end = monitor.subscribe(lambda change: None)
    assert monitor.mode == ("netlink" if netlink else "polling")
    end()
    assert monitor.mode == "stopped"


@pytest.mark.asyncio
async def test_where_nothing_works_it_is_off_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from rtcstate import _netmon

    def unreadable() -> list[tuple[str, str]]:
        raise OSError("no interface list here")

    monkeypatch.setattr(_netmon, "_reading", unreadable)
    monitor = NetworkMonitor(netlink=False)
    for _ in range(2):
        end = monitor.subscribe(lambda change: None)
        assert monitor.mode == "off"
        end()
        assert monitor.mode == "stopped"
    said = [r for r in caplog.records if "no network monitor here" in r.getMessage()]
    assert len(said) == 1


async def _a_pair_stays_connected(while_connected: Any = None) -> None:
    """Connect two rtcstate peers, run `while_connected()`, then check both
    still read connected a few keepalive intervals later."""
    import rtcstate
    from rtcstate.testing import FAST_LIVENESS, connect
    from tests.support.peers import config

    a = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
    b = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
    a.createDataChannel("x")
    try:
        await connect(a, b)
        if while_connected is not None:
            await while_connected()
        await asyncio.sleep(3 * FAST_LIVENESS.keepalive_interval)
        assert (a.connectionState, b.connectionState) == ("connected", "connected")
    finally:
        await asyncio.gather(a.close(), b.close())


@pytest.mark.asyncio
async def test_a_monitor_that_fails_harms_no_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The monitor cannot start at all, or a network change breaks inside
    rtcstate: the connection connects and stays connected, liveness as before."""
    from rtcstate import _netmon, _shims
    from rtcstate._netlink import NetworkChange

    def broken(*_: object) -> Any:
        raise RuntimeError("broken (injected)")

    monkeypatch.setattr(_netmon, "monitor", broken)
    await _a_pair_stays_connected()
    assert any("no network monitor" in r.getMessage() for r in caplog.records)

    # a monitor that runs, and a change that breaks inside rtcstate's handler
    monkeypatch.undo()
    monitor = NetworkMonitor(netlink=False, poll_interval=3600)
    monkeypatch.setattr(_netmon, "_MONITOR", monitor)
    monkeypatch.setattr(_shims, "pair_local_address", broken)

    async def a_change_that_breaks() -> None:
        for _ in range(100):
            if monitor.mode != "stopped":
                break
            await asyncio.sleep(0.02)
        monitor._tell(NetworkChange("link-down", "eth9"))  # the handler raises

    await _a_pair_stays_connected(a_change_that_breaks)
    assert any("subscriber raised" in r.getMessage() for r in caplog.records)
