"""A coturn TURN server on 127.0.0.1 for tests (Debian's ``turnserver``).

The ``turn_server`` fixture starts one ``turnserver -n`` per test module: UDP and
TCP on one free port of 127.0.0.1, long-term credentials, relay addresses on
127.0.0.1 (loopback peers allowed), no TLS, DTLS or CLI, its files in a temporary
directory. :meth:`TurnServer.pause` stops the process (SIGSTOP): every relayed
path goes silent at once, as in a silent outage, until :meth:`TurnServer.resume`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from aiortc import RTCIceServer

__all__ = ["TURNSERVER", "TurnServer", "turn_server"]

TURNSERVER = shutil.which("turnserver")

USERNAME = "rtcstate"
PASSWORD = "not-a-secret"
REALM = "rtcstate.test"
#: relay ports: above Linux's default ephemeral range (32768-60999), so that
#: the peers' own sockets do not take them (coturn skips a busy port anyway)
RELAY_PORTS = (61000, 61999)

Transport = Literal["udp", "tcp"]

_MAGIC_COOKIE = b"\x21\x12\xa4\x42"


def _free_port() -> int:
    """A port of 127.0.0.1 free for both TCP and UDP, right now."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port of 127.0.0.1 is free for both TCP and UDP")


def _binding_request() -> tuple[bytes, bytes]:
    transaction_id = os.urandom(12)
    return b"\x00\x01\x00\x00" + _MAGIC_COOKIE + transaction_id, transaction_id


def _is_binding_success(data: bytes, transaction_id: bytes) -> bool:
    return data[:2] == b"\x01\x01" and data[8:20] == transaction_id


def stun_answers(port: int, transport: Transport, timeout: float = 0.2) -> bool:
    """Whether a STUN binding request to 127.0.0.1:``port`` is answered."""
    request, transaction_id = _binding_request()
    try:
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(timeout)
                udp.sendto(request, ("127.0.0.1", port))
                data = udp.recv(2048)
        else:
            with socket.create_connection(("127.0.0.1", port), timeout) as tcp:
                tcp.sendall(request)
                data = tcp.recv(2048)
    except OSError:  # refused (not listening yet) or timed out
        return False
    return _is_binding_success(data, transaction_id)


class TurnServer:
    """One running ``turnserver`` process and what tests need of it."""

    host = "127.0.0.1"
    username = USERNAME
    password = PASSWORD
    realm = REALM

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory / "turnserver.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False

    # --- lifecycle ---------------------------------------------------------------

    def command(self) -> list[str]:
        assert TURNSERVER is not None
        return [
            TURNSERVER,
            "-n",  # no configuration file: only these options
            f"--listening-ip={self.host}",
            f"--relay-ip={self.host}",
            f"--listening-port={self.port}",
            f"--min-port={RELAY_PORTS[0]}",
            f"--max-port={RELAY_PORTS[1]}",
            "--lt-cred-mech",
            f"--user={self.username}:{self.password}",
            f"--realm={self.realm}",
            # relayed peers are this machine's own addresses
            "--allow-loopback-peers",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--no-rfc5780",
            f"--log-file={self.log_path}",
            "--simple-log",  # exactly that file, no rollover
            "--no-stdout-log",
            "--verbose",  # sessions and their traffic counters, in the log
            # not /var/lib/turn/turndb nor /var/run/turnserver.pid
            f"--userdb={self.directory / 'turndb'}",
            f"--pidfile={self.directory / 'turnserver.pid'}",
        ]

    def start(self, attempts: int = 3) -> TurnServer:
        """Start the server and wait until it answers STUN over UDP and TCP."""
        for _ in range(attempts):
            self.port = _free_port()
            with (self.directory / "stderr.log").open("ab") as stderr:
                self._process = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._process.poll() is None:
                if stun_answers(self.port, "udp") and stun_answers(self.port, "tcp"):
                    return self
                time.sleep(0.05)
            # exited (the port was taken meanwhile?) or never answered: again
            self.stop()
        raise RuntimeError(
            f"turnserver did not answer STUN on 127.0.0.1 after {attempts} "
            f"attempts; its log ends with:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server, whatever state it is in (paused included)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # a stopped process would not act on SIGTERM before SIGCONT
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
            self._paused = False
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    # --- outages -----------------------------------------------------------------

    def pause(self) -> None:
        """SIGSTOP the server: every relayed path goes silent (nothing refused,
        nothing answered; packets wait in its sockets' kernel buffers).

        Returns once every thread of the server is stopped: a signal is only
        acted on when a thread next runs, and a thread woken by a packet meanwhile
        would still relay it."""
        assert self._process is not None and self._process.poll() is None
        self._process.send_signal(signal.SIGSTOP)
        self._paused = True
        deadline = time.monotonic() + 2
        while not self._stopped() and time.monotonic() < deadline:
            time.sleep(0.001)

    def _stopped(self) -> bool:
        """Whether every thread of the server is stopped (Linux's /proc)."""
        assert self._process is not None
        tasks = Path(f"/proc/{self._process.pid}/task")
        try:
            states = [
                # the state follows the command name in parentheses
                (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                for task in tasks.iterdir()
            ]
        except OSError:  # no /proc, or a thread ended meanwhile: try again
            return False
        return all(state in ("T", "t") for state in states)

    def resume(self) -> None:
        """SIGCONT the server: the relayed paths work again."""
        if self._process is not None and self._paused:
            self._process.send_signal(signal.SIGCONT)
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    # --- configuration -----------------------------------------------------------

    def url(self, transport: Transport = "udp") -> str:
        return f"turn:{self.host}:{self.port}?transport={transport}"

    def ice_servers(self, transport: Transport = "udp") -> list[RTCIceServer]:
        """aiortc's iceServers for this server. Use them with
        ``iceTransportPolicy=RTCIceTransportPolicy.RELAY`` (the enum) to force
        the relay."""
        return [
            RTCIceServer(
                urls=self.url(transport),
                username=self.username,
                credential=self.password,
            )
        ]

    # --- what it did -------------------------------------------------------------

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def allocations(self) -> int:
        """How many TURN allocations the server has granted so far (its log)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return len(re.findall(r"ALLOCATE processed, success", text))


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    """One coturn server for the module's tests; stopped at the end, whatever
    happened (a test that paused it included)."""
    if TURNSERVER is None:
        pytest.skip("coturn's turnserver is not installed (Debian package: coturn)")
    server = TurnServer(tmp_path_factory.mktemp("turnserver"))
    try:
        yield server.start()
    finally:
        server.stop()
