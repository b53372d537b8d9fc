"""The examples run as a user would run them, over loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_loopback_pair_prints_changes_with_causes_then_closes() -> None:
    result = run("loopback_pair.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for side in ("offerer", "answerer"):
        lines = [line for line in out.splitlines() if f" {side} " in line]
        assert any(
            "connecting -> connected" in line and "cause: dtls#0" in line
            for line in lines
        )
        assert any(
            "new -> checking" in line and "cause: ice#0" in line for line in lines
        )
    assert "message received: hello over loopback" in out
    assert "after close(): offerer closed, answerer closed" in out
    assert "connectionState connected -> closed [close() called]" in out


def test_two_process_example_connects_across_processes() -> None:
    result = run("two_process.py")
    assert result.returncode == 0, result.stderr
    assert "[offerer] reply: pong (ping)" in result.stdout
    assert "[offerer] connectionState connecting -> connected" in result.stdout
    assert "[answerer] connectionState connecting -> connected" in result.stderr
    assert "answerer exited with 0" in result.stdout
