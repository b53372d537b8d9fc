"""A coturn TURN server on 127.0.0.1 for tests (Debian's ``turnserver``).

The ``turn_server`` fixture (tests/conftest.py) starts one :class:`TurnServer`,
``turnserver -n``, per test module: UDP and TCP on one free port of 127.0.0.1,
TLS over TCP on another (``turns:``, a self-signed certificate for IP 127.0.0.1
made at fixture time), long-term credentials, relay addresses on 127.0.0.1
(loopback peers allowed), no DTLS or CLI, its files in a temporary directory.
:meth:`TurnServer.pause` stops the process (SIGSTOP): every relayed path goes
silent at once, as in a silent outage, until :meth:`TurnServer.resume`.

aiortc maps a ``turns:`` URL to aioice's ``turn_ssl=True``, which hands
``ssl=True`` to ``loop.create_connection``: asyncio then makes a new
``ssl.create_default_context()`` per connection, whose ``set_default_verify_paths``
reads ``SSL_CERT_FILE`` at that moment, and checks the host, 127.0.0.1, against
the certificate's IP subjectAltName. A test trusts the server with
``monkeypatch.setenv("SSL_CERT_FILE", str(turn_server.cert_path))``; without it
aioice's TLS handshake fails and no relay candidate is gathered. (libwebrtc
cannot be told to trust it: its handshake ends in an "unknown CA" alert whatever
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` say, and wrtc's ICE servers have no
``tlsCertPolicy`` to waive the check.)
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Literal

from aiortc import RTCIceServer

__all__ = ["TURNSERVER", "TurnServer", "stun_answers"]

TURNSERVER = shutil.which("turnserver")

USERNAME = "rtcstate"
PASSWORD = "not-a-secret"
REALM = "rtcstate.test"


def _relay_ports() -> tuple[int, int]:
    """The server's relay ports: a range of its own for each pytest-xdist
    worker (gw0, gw1, ...), so that servers of parallel workers never meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = 61000 + (int(worker) % 8 if worker.isdigit() else 0) * 500
    return first, first + 499


#: relay ports: above Linux's default ephemeral range (32768-60999), so that
#: the peers' own sockets do not take them (coturn skips a busy port anyway)
RELAY_PORTS = _relay_ports()

#: "tls": TURN over TLS over TCP (a ``turns:`` URL)
Transport = Literal["udp", "tcp", "tls"]

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


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 (subjectAltName) and its key,
    PEM files in ``directory``; valid from an hour ago for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        # its own issuer: a trust anchor where SSL_CERT_FILE names it
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _binding_request() -> tuple[bytes, bytes]:
    transaction_id = os.urandom(12)
    return b"\x00\x01\x00\x00" + _MAGIC_COOKIE + transaction_id, transaction_id


def _is_binding_success(data: bytes, transaction_id: bytes) -> bool:
    return data[:2] == b"\x01\x01" and data[8:20] == transaction_id


def stun_answers(
    port: int,
    transport: Transport,
    timeout: float = 0.2,
    cafile: Path | None = None,
) -> bool:
    """Whether a STUN binding request to 127.0.0.1:``port`` is answered (over
    TLS: with the server's certificate checked against ``cafile``, the host
    against its IP subjectAltName)."""
    request, transaction_id = _binding_request()
    try:
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(timeout)
                udp.sendto(request, ("127.0.0.1", port))
                data = udp.recv(2048)
        elif transport == "tls":
            context = ssl.create_default_context(cafile=cafile)
            with (
                socket.create_connection(("127.0.0.1", port), timeout) as tcp,
                context.wrap_socket(tcp, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(request)
                data = tls.recv(2048)
        else:
            with socket.create_connection(("127.0.0.1", port), timeout) as tcp:
                tcp.sendall(request)
                data = tcp.recv(2048)
    except OSError:  # refused (not listening yet), timed out, TLS refused
        return False
    return _is_binding_success(data, transaction_id)


class TurnServer:
    """One running ``turnserver`` process and what tests need of it."""

    host = "127.0.0.1"
    username = USERNAME
    password = PASSWORD
    realm = REALM

    def __init__(self, directory: Path, tls: bool = False) -> None:
        self.directory = directory
        self.log_path = directory / "turnserver.log"
        self.port = 0
        #: TLS over TCP (``turns:``) on :attr:`tls_port`, with the self-signed
        #: :attr:`cert_path`; False (and :attr:`tls_unavailable` says why) when
        #: not asked for (the default: exactly the plain server, ``--no-tls``)
        #: or when no certificate could be made
        self.tls = tls
        self.tls_port = 0
        self.tls_unavailable = "" if tls else "TLS was not asked for"
        self.cert_path = directory / "cert.pem"
        self.key_path = directory / "key.pem"
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
            *(
                [
                    # TLS on its own port (coturn's default is 5349), TCP only:
                    # coturn also accepts TLS on the plain TCP port then
                    f"--tls-listening-port={self.tls_port}",
                    f"--cert={self.cert_path}",
                    f"--pkey={self.key_path}",
                ]
                if self.tls
                else ["--no-tls"]
            ),
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

    def _make_certificate(self) -> None:
        try:
            _self_signed_certificate(self.directory)
        except Exception as exc:  # no cryptography (aiortc needs it, though)
            self.tls = False
            self.tls_unavailable = f"no self-signed certificate: {exc!r}"

    def _answers(self) -> bool:
        return (
            stun_answers(self.port, "udp")
            and stun_answers(self.port, "tcp")
            and (
                not self.tls
                or stun_answers(self.tls_port, "tls", 1.0, cafile=self.cert_path)
            )
        )

    def start(self, attempts: int = 3) -> TurnServer:
        """Start the server and wait until it answers STUN over UDP, TCP and
        (if :attr:`tls`) TLS, its certificate checked."""
        if self.tls:
            self._make_certificate()
        for _ in range(attempts):
            self.port = _free_port()
            if self.tls:
                self.tls_port = _free_port()
                while self.tls_port == self.port:
                    self.tls_port = _free_port()
            with (self.directory / "stderr.log").open("ab") as stderr:
                self._process = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._process.poll() is None:
                if self._answers():
                    return self
                time.sleep(0.05)
            # exited (the port was taken meanwhile?) or never answered: again
            self.stop()
        raise RuntimeError(
            f"turnserver did not answer STUN on 127.0.0.1 (TLS: {self.tls}) after "
            f"{attempts} attempts; its log ends with:\n{self.log_tail()}"
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
        if transport == "tls":
            assert self.tls, self.tls_unavailable
            # TURN over TLS is over TCP (RFC 7065)
            return f"turns:{self.host}:{self.tls_port}?transport=tcp"
        return f"turn:{self.host}:{self.port}?transport={transport}"

    def ice_servers(self, transport: Transport = "udp") -> list[RTCIceServer]:
        """aiortc's iceServers for this server. Use them with
        ``iceTransportPolicy=RTCIceTransportPolicy.RELAY`` (the enum) to force
        the relay; over ``"tls"``, trust :attr:`cert_path` (``SSL_CERT_FILE``)."""
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

    def tls_sessions(self) -> int:
        """How many authenticated sessions came over TLS so far (its log: a
        session's first line names the cipher and TLS version)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return len(re.findall(r": new, realm=.*, method=TLS", text))


class Silent:
    """A UDP socket on 127.0.0.1 that reads what comes and never answers: a STUN
    or TURN server that is down (or whose replies a firewall drops)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def received(self) -> int:
        """How many datagrams came since last asked."""
        count = 0
        while True:
            try:
                self.sock.recv(2048)
            except BlockingIOError:
                return count
            count += 1
