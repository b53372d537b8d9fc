"""Network namespaces for tests: made with ``ip netns``, wired with veth pairs,
always deleted.

Everything a test sends inside them stays inside them: a namespace made here
has no route to this machine's own interfaces nor to any other network, only
its loopback and the veth ends the test put in it. Needs root and iproute2's
``ip``; :func:`netns` skips the test, saying why, where either is missing or
the kernel refuses a namespace.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

IP = shutil.which("ip") or next(
    (path for path in ("/usr/sbin/ip", "/sbin/ip") if os.access(path, os.X_OK)), None
)
#: every namespace of this process gets the next number: names never collide,
#: not even with a namespace a crashed run left behind (another pid)
_numbers = itertools.count()


class NetnsError(RuntimeError):
    """An ``ip`` command failed; the message has its stderr."""


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or ``None``."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if IP is None:
        return "no `ip` command (Debian package: iproute2)"
    return None


def _ip(*args: str, timeout: float = 10) -> str:
    assert IP is not None
    done = subprocess.run(
        [IP, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


class Netns:
    """One named network namespace."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    def ip(self, *args: str) -> str:
        """``ip -n NAME ARGS...``; its stdout (:class:`NetnsError` on failure)."""
        return _ip("-n", self.name, *args)

    def command(self, *argv: str) -> list[str]:
        """``argv`` as a command line that runs inside the namespace."""
        assert IP is not None
        return [IP, "netns", "exec", self.name, *argv]

    def run(
        self, *argv: str, timeout: float, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace to its end (text output captured),
        in ``cwd`` if given."""
        return subprocess.run(
            self.command(*argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )

    def sysctl(self, key: str, value: str) -> None:
        """Set ``/proc/sys/KEY`` (dots or slashes) in this namespace only: the
        net.* tree under /proc/sys is the one of the writer's namespace."""
        path = "/proc/sys/" + key.replace(".", "/")
        done = self.run("sh", "-c", 'echo "$1" > "$2"', "sh", value, path, timeout=10)
        if done.returncode != 0:
            raise NetnsError(f"sysctl {key}={value}: {done.stderr.strip()}")

    def addresses(self) -> str:
        return self.ip("address")


@contextlib.contextmanager
def netns() -> Iterator[Netns]:
    """A new namespace, ``rtcstate-<pid>-<n>``, with ``lo`` up; deleted on exit.

    Skips the calling test (with the exact reason) when not root, without
    ``ip``, or when the kernel will not make a namespace.
    """
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    name = f"rtcstate-{os.getpid()}-{next(_numbers)}"
    try:
        _ip("netns", "add", name)
    except (NetnsError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot create a network namespace: {exc}")
    try:
        namespace = Netns(name)
        namespace.ip("link", "set", "lo", "up")
        yield namespace
    finally:
        # Deleting the name frees the namespace once its last process is gone;
        # callers end their own processes first (subprocess timeouts).
        with contextlib.suppress(NetnsError, OSError, subprocess.TimeoutExpired):
            _ip("netns", "delete", name)


def veth(a: Netns, a_name: str, b: Netns, b_name: str) -> None:
    """A veth pair: ``a_name`` in ``a``, ``b_name`` in ``b``, both up.

    Made inside ``a`` with its peer moved straight to ``b``, so neither end is
    ever in this machine's own namespace.
    """
    a.ip("link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", b.name)
    a.ip("link", "set", a_name, "up")
    b.ip("link", "set", b_name, "up")


def run_script(
    namespace: Netns, module: str, *args: str, timeout: float
) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS...`` inside ``namespace``, from the
    repository's root, to its end: the JSON object of its last line on stdout.

    The scripts (``tests.support.ipv6_peers``, ``tests.support.mdns_browser``)
    print one such object and report a failed step in its ``"error"``: the run
    must have exited 0 and reported none.
    """
    done = namespace.run(sys.executable, "-m", module, *args, timeout=timeout, cwd=ROOT)
    stderr = done.stderr[-4000:]
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (
        f"exit {done.returncode}\n{done.stdout}\n{stderr}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in result, (
        result["error"] + "\n" + json.dumps(result, indent=1) + "\n" + stderr
    )
    return result
