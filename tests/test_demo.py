"""`rtcstate demo`, run as a user runs it, and on a host whose only interface is
loopback (a network namespace the test creates)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def demo(
    *args: str, prefix: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "rtcstate", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def states(stdout: str, peer: str, attribute: str = "connectionState") -> list[str]:
    records = [json.loads(line) for line in stdout.splitlines()]
    return [
        r["current"]
        for r in records
        if r["type"] == "state" and r["peer"] == peer and r["attribute"] == attribute
    ]


def test_demo_shows_disconnected_then_connected_again() -> None:
    result = demo("--cut-after", "0.5", "--cut-for", "2.8", "--duration", "4", "--json")
    assert result.returncode == 0, result.stderr
    for peer in ("offerer", "answerer"):
        assert states(result.stdout, peer) == [
            "connecting",
            "connected",
            "disconnected",
            "connected",
        ]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    notes = [r["text"] for r in records if r["type"] == "note"]
    assert notes[0].startswith("link cut") and notes[1] == "link restored"
    assert notes[-1] == "done: offerer connected, answerer connected"
    causes = [
        r["cause"]["detail"]
        for r in records
        if r["type"] == "state" and r["current"] == "disconnected"
    ]
    assert causes and all(c.startswith("no answer for 2.0 s") for c in causes)
    transports = {r["transport"] for r in records if r["type"] == "transport"}
    assert transports == {"ice#0 (mid 0)", "dtls#0 (mid 0)"}
    # the selected pair, once per peer, and round trips on loopback
    pairs = [r for r in records if r["type"] == "pair"]
    assert sorted(r["peer"] for r in pairs) == ["answerer", "offerer"]
    assert all(r["local"].startswith("host ") for r in pairs)
    rtts = [r["rtt"] for r in records if r["type"] == "rtt"]
    assert rtts and all(0 < rtt < 0.1 for rtt in rtts)


def test_demo_text_timeline_is_readable() -> None:
    result = demo("--duration", "0.3", "--loss", "0.1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("10% random loss" in line for line in lines)
    assert any(
        "offerer" in line
        and "connecting -> connected" in line
        and "because dtls#0" in line
        for line in lines
    )
    assert lines[-1].endswith("done: offerer connected, answerer connected")


def test_demo_rejects_bad_options_with_usage() -> None:
    result = demo("--loss", "2")
    assert result.returncode == 2
    assert "--loss must be between 0 and 1" in result.stderr


@pytest.mark.parametrize("option", ["--cut-after", "--cut-for", "--duration"])
def test_demo_rejects_a_time_that_is_not_finite(option: str) -> None:
    result = demo(option, "inf")
    assert result.returncode == 2
    assert f"{option} must be a finite number, not inf" in result.stderr


def test_cut_for_alone_cuts_the_link() -> None:
    # the README's `rtcstate demo --cut-for 20` relies on it (here shorter)
    result = demo("--cut-for", "0.5", "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    notes = [r["text"] for r in records if r["type"] == "note"]
    assert notes[0] == "link cut in both directions for 0.5 s"
    assert notes[1] == "link restored"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "rtcstate"
    if not script.exists():
        pytest.skip("rtcstate is not installed as a package here (no console script)")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("rtcstate ")


# --- a host whose only interface is loopback ------------------------------------


@pytest.fixture
def loopback_only_host() -> Iterator[tuple[str, ...]]:
    """A network namespace with only `lo`, up: yields the prefix to run in it."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is not installed")
    name = f"rtcstate-test-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        ["ip", "netns", "add", name], capture_output=True, text=True
    )
    if created.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {created.stderr.strip()}")
    try:
        subprocess.run(
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True
        )
        links = subprocess.run(
            ["ip", "netns", "exec", name, "ip", "-o", "link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
        yield ("ip", "netns", "exec", name)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_demo_connects_on_a_loopback_only_host(
    loopback_only_host: tuple[str, ...],
) -> None:
    result = demo("--duration", "0.3", "--json", prefix=loopback_only_host)
    assert result.returncode == 0, result.stderr
    assert states(result.stdout, "offerer") == ["connecting", "connected"]


def test_without_loopback_the_demo_fails_clearly(
    loopback_only_host: tuple[str, ...],
) -> None:
    # what plain aiortc does on such a host: no candidate at all
    result = demo("--loopback", "never", prefix=loopback_only_host)
    assert result.returncode == 1
    assert "gathered no IPv4 candidate" in result.stderr
    assert "try --loopback auto" in result.stderr


def test_examples_and_tests_connect_on_a_loopback_only_host(
    loopback_only_host: tuple[str, ...],
) -> None:
    example = subprocess.run(
        [
            *loopback_only_host,
            sys.executable,
            str(ROOT / "examples" / "loopback_pair.py"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert example.returncode == 0, example.stderr
    assert "message received: hello over loopback" in example.stdout
    suite = subprocess.run(
        [
            *loopback_only_host,
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "test_wpt.py"),
            str(ROOT / "tests" / "test_peerconnection.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert suite.returncode == 0, suite.stdout[-3000:]
