"""README.md's commands, run as written (less the install step, which CI runs), so
that they cannot rot."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # the venv the tests run in: its .venv/bin


def _sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)


def _run(command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a README command whose programs live in ``.venv/bin``."""
    argv = shlex.split(command)
    argv[0] = str(BIN / Path(argv[0]).name)
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def _final_states(stdout: str) -> str:
    done = [line for line in stdout.splitlines() if "-- done:" in line]
    assert len(done) == 1, stdout
    return done[0].split("-- done:", 1)[1].strip()


def test_the_two_commands_are_there_and_ci_runs_the_test_command() -> None:
    demo, tests = _sh_blocks()[:2]
    assert demo.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert ".venv/bin/rtcstate demo" in demo
    assert tests.endswith(".venv/bin/python -m pytest")
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_demo_command_shows_disconnected_and_connected_again() -> None:
    demo = _sh_blocks()[0].split(" && ")[-1]
    result = _run(demo, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    went = [i for i, line in enumerate(lines) if "connected -> disconnected" in line]
    back = [i for i, line in enumerate(lines) if "disconnected -> connected" in line]
    assert went and back and min(back) > min(went), result.stdout
    assert _final_states(result.stdout) == "offerer connected, answerer connected"


def _listed_options() -> list[str]:
    listed = README.split("`rtcstate demo --help` lists the options:", 1)[1]
    listed = listed.split("\n\n", 2)[1]  # the list after the blank line
    return re.findall(r"^- `(--[a-z-]+)[^`]*`", listed, flags=re.M)


def test_every_listed_option_is_in_the_demo_help() -> None:
    options = _listed_options()
    assert {"--cut-for", "--loss", "--json", "--loopback"} <= set(options)
    result = _run("rtcstate demo --help", timeout=30)
    assert result.returncode == 0
    for option in options:
        assert option in result.stdout, option


@pytest.mark.timeout(90)
def test_cut_for_20_shows_failed_as_the_readme_says() -> None:
    (line,) = [x for x in README.splitlines() if x.startswith("- `--cut-for")]
    assert "shows `failed`" in line
    example = re.search(r"`(--cut-for [0-9]+)`", line)
    assert example is not None
    result = _run(f"rtcstate demo {example.group(1)}", timeout=80)
    assert result.returncode == 0, result.stderr
    assert _final_states(result.stdout) == "offerer failed, answerer failed"
