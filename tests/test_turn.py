"""rtcstate over real relayed paths: a coturn TURN server on 127.0.0.1
(tests/support/turn.py).

Rows: both sides relayed over TURN/UDP, both relayed over TURN/TCP, both relayed
over TURN over TLS (``turns:``; libwebrtc's remote on TURN/UDP, see ROWS), the
local side relayed and the remote on host candidates, and the reverse. The local
side is always an ``rtcstate.PeerConnection`` with the default liveness timers
(these are the figures an application gets); the remote is plain aiortc,
rtcstate or libwebrtc. Each pair connects, carries data-channel messages both
ways and stays ``connected`` through 30 s of traffic. Stopping the TURN server
(SIGSTOP: every relayed path goes silent at once) makes every rtcstate side read
``disconnected`` within 2.5 s, ``connected`` again within 1 s of the server's
return, and ``failed`` 15 +- 1 s into an outage that lasts.

The TURN server listens and relays on 127.0.0.1, aioice's only host address is
127.0.0.1 (patched) and libwebrtc's answer keeps only its 127.0.0.1 candidates, so
every selected pair is on 127.0.0.1 and nothing leaves this machine. aioice
trusts the server's self-signed certificate through ``SSL_CERT_FILE``, set for
each test (tests/support/turn.py). Run with ``-s`` to see the measured figures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import pytest
import pytest_asyncio
import webrtc
from aiortc import (
    RTCConfiguration,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)

import rtcstate
from rtcstate import _tap as tap
from tests.support.libwebrtc import (
    Libwebrtc,
    close,
    connection_state,
    libwebrtc_peer,
)
from tests.support.targets import (
    CONNECTED_WITHIN,
    DISCONNECTED_WITHIN,
    FAILED_AT,
    FAILED_TOLERANCE,
    IDLE,
    connection_states,
    lasting_outage_problems,
    outage_problems,
)
from tests.support.turn import Transport, TurnServer, stun_answers

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("wrtc_loopback")]

TIMEOUT = 10  # to connect, per pair
SEND_EVERY = 0.5
OUTAGE = 4.0

REMOTES = ("aiortc", "rtcstate", "libwebrtc")


@dataclass(frozen=True)
class Row:
    name: str
    #: each side's TURN transport, or None for host candidates only
    local: Transport | None
    remote: Transport | None
    #: the remote implementations this row runs against
    remotes: tuple[str, ...] = REMOTES

    @property
    def tls(self) -> bool:
        return "tls" in (self.local, self.remote)


ROWS = (
    Row("relay/udp <-> relay/udp", "udp", "udp"),
    Row("relay/tcp <-> relay/tcp", "tcp", "tcp"),
    # TURN over TLS: libwebrtc cannot trust coturn's self-signed certificate
    # (its handshake ends in an "unknown CA" alert whatever SSL_CERT_FILE or
    # SSL_CERT_DIR say, and wrtc's ICE servers have no tlsCertPolicy: its
    # gathering over turns: ends without a relay candidate), so its remote is
    # on plain TURN/UDP through the same server
    Row("relay/tls <-> relay/tls", "tls", "tls", ("aiortc", "rtcstate")),
    Row("relay/tls <-> relay/udp", "tls", "udp", ("libwebrtc",)),
    Row("relay/udp <-> host", "udp", None),
    Row("host <-> relay/udp", None, "udp"),
)


@pytest.fixture
def loopback_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice gathers 127.0.0.1 as its only host address (it never gathers
    loopback itself), so host candidates never leave this machine's loopback."""
    monkeypatch.setattr(
        aioice.ice,
        "get_host_addresses",
        lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else [],
    )


def loopback_udp_only(sdp: str) -> str:
    """Keep libwebrtc's UDP candidates on 127.0.0.1 (host or relay): it also
    offers this host's other addresses, IPv6 and TCP."""
    keep = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if fields[2].lower() != "udp" or fields[4] != "127.0.0.1":
                continue
        keep.append(line)
    return "\r\n".join(keep) + "\r\n"


def candidate_types(sdp: str) -> set[str]:
    return {
        line.split(" typ ")[1].split()[0]
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    }


def aiortc_config(turn: TurnServer, transport: Transport | None) -> RTCConfiguration:
    if transport is None:
        return RTCConfiguration(iceServers=[])
    return RTCConfiguration(
        iceServers=turn.ice_servers(transport),
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


def wrtc_config(turn: TurnServer, transport: Transport | None) -> Any:
    if transport is None:
        return webrtc.RTCConfiguration(ice_servers=[])
    return webrtc.RTCConfiguration(
        ice_servers=[
            webrtc.RTCIceServer(turn.url(transport), turn.username, turn.password)
        ],
        ice_transport_policy=webrtc.RTCIceTransportPolicy.relay,
    )


@pytest.fixture
def rows(turn_server: TurnServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Row, ...]:
    """The rows this server can run; aioice trusts its TLS certificate for the
    test (asyncio's default SSL context reads SSL_CERT_FILE per connection)."""
    if not turn_server.tls:
        return tuple(row for row in ROWS if not row.tls)
    monkeypatch.setenv("SSL_CERT_FILE", str(turn_server.cert_path))
    return ROWS


def selected_types(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """(local, remote) candidate types of the pair aioice sends on, and on which
    rtcstate's keepalives go."""
    transport = pc.sctp.transport.transport if pc.sctp else None
    pair = transport._connection._nominated.get(1) if transport else None
    if pair is None:
        return None
    return pair.local_candidate.type, pair.remote_candidate.type


class Side:
    """One peer of a pair, whatever its implementation: its data channel, the
    messages it received and its own ``connectionState`` changes."""

    def __init__(self, kind: str, pc: Any) -> None:
        self.kind = kind
        self.pc = pc
        self.channel: Any = None
        self.received: list[str] = []
        self.sent = 0
        self.send_errors = 0
        self._arrived = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # (loop time, connectionState) as this peer reports it
        self._states: list[tuple[float, str]] = []
        if kind == "libwebrtc":
            pc.on("datachannel", lambda event: self.attach(event.channel))
            pc.on("connectionstatechange", lambda _e: self._record_state())
        else:
            pc.on("datachannel", self.attach)
            if kind == "aiortc":
                pc.on("connectionstatechange", self._record_state)

    @property
    def is_rtcstate(self) -> bool:
        return isinstance(self.pc, rtcstate.PeerConnection)

    @property
    def state(self) -> str:
        return connection_state(self.pc)

    @property
    def states(self) -> list[tuple[float, str]]:
        if self.is_rtcstate:
            return connection_states(self.pc)
        return self._states

    def _record_state(self) -> None:
        self._states.append((self._loop.time(), self.state))

    def first(self, state: str, since: float) -> float | None:
        """Seconds from ``since`` to this peer's first change to ``state``."""
        for time, current in self.states:
            if time >= since and current == state:
                return time - since
        return None

    def attach(self, channel: Any) -> None:
        self.channel = channel
        channel.on("message", self._on_message)

    def _on_message(self, message: Any) -> None:
        self.received.append(message if isinstance(message, str) else message.data)
        self._arrived.set()

    async def wait_for_messages(self, count: int, timeout: float) -> None:
        async def arrived() -> None:
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), timeout)

    def send(self, text: str) -> None:
        self.channel.send(text)
        self.sent += 1

    def changes_since(self, since: float) -> list[str]:
        """This peer's own state changes after ``since``, for messages."""
        if self.is_rtcstate:
            return [str(c) for c in self.pc.state_history if c.time > since]
        return [f"connectionState -> {s}" for t, s in self._states if t > since]

    def transport_log(self) -> str:
        if not self.is_rtcstate:
            return ""
        return "; ".join(str(c) for c in self.pc.transport_history[-6:])

    async def close(self) -> None:
        await close(self.pc)


@dataclass
class Pair:
    row: Row
    local: Side
    remote: Side
    started: float = 0.0
    connected: float | None = None  # loop time the local side read connected
    figures: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.row.name} vs {self.remote.kind}"

    def rtcstate_sides(self) -> list[Side]:
        return [side for side in (self.local, self.remote) if side.is_rtcstate]

    def problem(self, text: str) -> None:
        self.problems.append(text)


def which(pair: Pair, side: Side) -> str:
    return "local" if side is pair.local else f"remote {side.kind}"


class Network:
    """The pairs of one test and their teardown (the TURN server resumed
    first: aioice's close asks the server to delete its allocation)."""

    def __init__(self, turn: TurnServer) -> None:
        self.turn = turn
        self.pairs: list[Pair] = []

    def make(self, row: Row, remote_kind: str) -> Pair:
        local = Side(
            "rtcstate", rtcstate.PeerConnection(aiortc_config(self.turn, row.local))
        )
        if remote_kind == "libwebrtc":
            remote_pc: Any = libwebrtc_peer(wrtc_config(self.turn, row.remote))
        else:
            cls = (
                rtcstate.PeerConnection
                if remote_kind == "rtcstate"
                else RTCPeerConnection
            )
            remote_pc = cls(aiortc_config(self.turn, row.remote))
        pair = Pair(row, local, Side(remote_kind, remote_pc))
        self.pairs.append(pair)
        return pair

    async def connect(self, pair: Pair) -> None:
        """Offer from the local side, wait for connected, exchange one message
        each way; any failure is recorded on the pair, not raised."""
        try:
            await asyncio.wait_for(self._connect(pair), TIMEOUT)
        except Exception as exc:  # the other pairs go on
            state = pair.local.state
            pair.problem(
                f"did not connect ({type(exc).__name__}: {exc}); local {state}; "
                f"{pair.local.transport_log()}"
            )

    async def _connect(self, pair: Pair) -> None:
        loop = asyncio.get_running_loop()
        local, remote = pair.local.pc, pair.remote.pc
        pair.local.attach(local.createDataChannel("chat"))
        pair.started = loop.time()
        await local.setLocalDescription(await local.createOffer())
        offer = local.localDescription.sdp
        if pair.row.local is not None and candidate_types(offer) != {"relay"}:
            pair.problem(
                "the relay-only offer has candidates of types "
                f"{sorted(candidate_types(offer))}"
            )
        answerer = (
            Libwebrtc(remote, gather_timeout=TIMEOUT)
            if pair.remote.kind == "libwebrtc"
            else remote
        )
        await answerer.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        answer = answerer.localDescription.sdp
        if pair.remote.kind == "libwebrtc":
            answer = loopback_udp_only(answer)
        await local.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await local.wait_for_connection_state("connected")
        pair.connected = pair.local.states[-1][0]
        pair.figures["connect"] = pair.connected - pair.started
        # a message each way: the remote answers once its channel has one
        opened = asyncio.Event()
        pair.local.channel.on("open", opened.set)
        if pair.local.channel.readyState != "open":
            await opened.wait()
        pair.local.send("hello")
        await pair.remote.wait_for_messages(1, TIMEOUT)
        pair.remote.send("hello")
        await pair.local.wait_for_messages(1, TIMEOUT)
        expected = (
            "relay" if pair.row.local else "host",
            "relay" if pair.row.remote else "host",
        )
        types = selected_types(local)
        if types != expected:
            pair.problem(f"selected pair {types}, expected {expected}")
        if pair.remote.kind != "libwebrtc":
            types = selected_types(remote)
            if types != expected[::-1]:
                pair.problem(
                    f"remote's selected pair {types}, expected {expected[::-1]}"
                )
        # rtcstate's keepalives and answers on a relayed pair are built by hand
        # and sent through aioice's TURN allocation
        for side, relayed in (
            (pair.local, pair.row.local),
            (pair.remote, pair.row.remote),
        ):
            if side.is_rtcstate and relayed is not None:
                selected = tap.selected_pair(side.pc.sctp.transport.transport)
                route = None if selected is None else selected.route
                if route != "turn":
                    pair.problem(
                        f"{which(pair, side)}'s keepalives take the route {route!r}, "
                        "not the TURN allocation's"
                    )

    async def connect_all(
        self, rows: Iterable[Row], remotes: Iterable[str] = REMOTES
    ) -> None:
        # all at once: a pair that cannot connect costs TIMEOUT once, not once
        # per pair (the connect times are those of 15 pairs connecting together)
        remotes = list(remotes)
        pairs = [
            self.make(row, remote_kind)
            for row in rows
            for remote_kind in remotes
            if remote_kind in row.remotes
        ]
        tls_sessions = self.turn.tls_sessions()
        await asyncio.gather(*(self.connect(pair) for pair in pairs))
        # the "tls" sides reached the server over TLS: one session each
        tls_pairs = [pair for pair in pairs if pair.row.tls]
        expected = sum(
            (pair.row.local == "tls") + (pair.row.remote == "tls") for pair in tls_pairs
        )
        sessions = self.turn.tls_sessions() - tls_sessions
        if sessions != expected:
            for pair in tls_pairs:
                pair.problem(
                    f"the server saw {sessions} TLS sessions, expected {expected}"
                )

    def connected(self) -> list[Pair]:
        return [pair for pair in self.pairs if pair.connected is not None]

    async def close(self) -> None:
        self.turn.resume()
        sides = [side for pair in self.pairs for side in (pair.local, pair.remote)]
        results = await asyncio.gather(
            *(asyncio.wait_for(side.close(), TIMEOUT) for side in sides),
            return_exceptions=True,
        )
        self.pairs.clear()
        # let aiortc's closing tasks finish inside the test's loop
        await asyncio.sleep(0)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, f"close() raised: {errors!r}"


@pytest_asyncio.fixture
async def network(
    turn_server: TurnServer, loopback_hosts: None, rows: tuple[Row, ...]
) -> AsyncIterator[Network]:
    net = Network(turn_server)
    try:
        yield net
    finally:
        await net.close()


@pytest.fixture
def internal_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """rtcstate's own warnings and exceptions in loop callbacks (for example a
    liveness monitor switched off by an internal error)."""
    caplog.set_level(logging.WARNING)

    def errors() -> list[str]:
        return [
            f"{record.name}: {record.getMessage().splitlines()[0]}"
            + (f" [{record.exc_info[1]!r}]" if record.exc_info else "")
            for record in caplog.records
            if record.name.startswith("rtcstate")
            or (record.name == "asyncio" and record.levelno >= logging.ERROR)
        ]

    return errors


def report(title: str, pairs: list[Pair], columns: Iterable[str]) -> str:
    """A table of the figures (seconds) and problems, printed for ``-s``."""
    columns = list(columns)
    lines = [title, f"{'pair':<40}" + "".join(f"{c:>16}" for c in columns)]
    for pair in pairs:
        cells = [
            f"{pair.figures[c]:.3f}" if c in pair.figures else "-" for c in columns
        ]
        lines.append(f"{pair.name:<40}" + "".join(f"{c:>16}" for c in cells))
        lines.extend(f"    ! {problem}" for problem in pair.problems)
    text = "\n".join(lines)
    print("\n" + text)
    return text


def assert_no_problems(text: str, pairs: list[Pair], errors: list[str]) -> None:
    failing = [pair for pair in pairs if pair.problems]
    if errors:
        text += "\nlogged:\n" + "\n".join(f"    {e}" for e in dict.fromkeys(errors))
    assert not failing and not errors, (
        f"{len(failing)} of {len(pairs)} pairs failed\n{text}"
    )


# --- the TURN server alone ---------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_plain_aiortc_connects_through_the_turn_server(
    turn_server: TurnServer,
    loopback_hosts: None,
    monkeypatch: pytest.MonkeyPatch,
    transport: Transport,
) -> None:
    # two plain aiortc peers, both relay-only: proves the server and its helpers
    # independently of rtcstate
    if transport == "tls":
        if not turn_server.tls:
            pytest.skip(f"coturn has no TLS listener: {turn_server.tls_unavailable}")
        monkeypatch.setenv("SSL_CERT_FILE", str(turn_server.cert_path))
    config = aiortc_config(turn_server, transport)
    allocations = turn_server.allocations()
    tls_sessions = turn_server.tls_sessions()
    offerer, answerer = RTCPeerConnection(config), RTCPeerConnection(config)
    try:
        local = Side("aiortc", offerer)
        remote = Side("aiortc", answerer)
        local.attach(offerer.createDataChannel("chat"))
        opened = asyncio.Event()
        local.channel.on("open", opened.set)
        await offerer.setLocalDescription(await offerer.createOffer())
        assert candidate_types(offerer.localDescription.sdp) == {"relay"}
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        local.send("hello")
        await remote.wait_for_messages(1, TIMEOUT)
        remote.send("hello")
        await local.wait_for_messages(1, TIMEOUT)
        assert selected_types(offerer) == ("relay", "relay")
        assert turn_server.allocations() == allocations + 2  # one per peer
        expected_tls = 2 if transport == "tls" else 0
        assert turn_server.tls_sessions() == tls_sessions + expected_tls
        # pause() silences the server and resume() brings it back
        turn_server.pause()
        try:
            assert not await asyncio.to_thread(stun_answers, turn_server.port, "udp")
        finally:
            turn_server.resume()
        assert await asyncio.to_thread(stun_answers, turn_server.port, "udp")
    finally:
        turn_server.resume()
        await offerer.close()
        await answerer.close()


async def test_turns_needs_the_certificate_trusted_through_ssl_cert_file(
    turn_server: TurnServer, loopback_hosts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aioice connects to a turns: server with asyncio's default SSL context,
    # made per connection: SSL_CERT_FILE, read then, decides whether coturn's
    # self-signed certificate is trusted (and 127.0.0.1 matches its IP SAN)
    if not turn_server.tls:
        pytest.skip(f"coturn has no TLS listener: {turn_server.tls_unavailable}")
    config = aiortc_config(turn_server, "tls")
    for trusted in (False, True):
        if trusted:
            monkeypatch.setenv("SSL_CERT_FILE", str(turn_server.cert_path))
        else:
            monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        pc = RTCPeerConnection(config)
        try:
            pc.createDataChannel("chat")
            await pc.setLocalDescription(await pc.createOffer())
            # untrusted: the handshake fails and aioice gathers nothing
            expected = {"relay"} if trusted else set()
            assert candidate_types(pc.localDescription.sdp) == expected
        finally:
            await pc.close()


async def test_a_relay_only_connection_never_offers_a_host_candidate(
    turn_server: TurnServer,
) -> None:
    # not even the 127.0.0.1 candidate rtcstate adds where aioice gathers none
    config = aiortc_config(turn_server, "udp")
    pc = rtcstate.PeerConnection(config, loopback="always")
    try:
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        assert candidate_types(pc.localDescription.sdp) == {"relay"}
    finally:
        await pc.close()


# --- rtcstate over relayed paths ---------------------------------------------


async def keepalive_counts(pc: Any) -> dict[str, int]:
    """The selected candidate pair's STUN counts from rtcstate's getStats()."""
    report = await pc.getStats()
    transport = next(s for s in report.values() if s.type == "transport")
    selected = report[transport.selectedCandidatePairId]
    return {
        name: getattr(selected, name)
        for name in (
            "requestsSent",
            "responsesReceived",
            "requestsReceived",
            "responsesSent",
        )
    }


async def all_arrived(pair: Pair, receiver: Side, sender: Side) -> None:
    try:
        await receiver.wait_for_messages(sender.sent, 5)
    except TimeoutError:
        pair.problem(
            f"{which(pair, receiver)} received {len(receiver.received)} of "
            f"{sender.sent} messages"
        )


@pytest.mark.timeout(120)
async def test_every_path_connects_carries_data_and_stays_connected(
    network: Network, rows: tuple[Row, ...], internal_errors: Callable[[], list[str]]
) -> None:
    await network.connect_all(rows)
    pairs = network.connected()
    loop = asyncio.get_running_loop()
    idle_from = loop.time()
    # messages both ways on every pair, every SEND_EVERY, for IDLE seconds:
    # one task for all pairs, so the two cores are not spent on wake-ups
    count = int(IDLE / SEND_EVERY)
    for n in range(count):
        for pair in pairs:
            for side in (pair.local, pair.remote):
                try:
                    side.send(f"{side.kind} {n}")
                except Exception as exc:
                    side.send_errors += 1
                    if side.send_errors == 1:  # the first says it all
                        pair.problem(f"{which(pair, side)} send {n}: {exc!r}")
        await asyncio.sleep(max(0.0, idle_from + (n + 1) * SEND_EVERY - loop.time()))
    idle_to = loop.time()
    # every message sent arrives (the last ones may still be in flight)
    await asyncio.gather(
        *(
            all_arrived(pair, receiver, sender)
            for pair in pairs
            for receiver, sender in (
                (pair.local, pair.remote),
                (pair.remote, pair.local),
            )
        )
    )
    for pair in pairs:
        pair.figures["idle"] = idle_to - idle_from
        for side in (pair.local, pair.remote):
            if side.state != "connected":
                pair.problem(f"{which(pair, side)} is {side.state} after idling")
            # nothing but ICE connected -> completed after its own connected
            connected = side.first("connected", 0.0)
            changes = [
                change
                for change in side.changes_since(connected or 0.0)
                if "-> completed" not in change
            ]
            if connected is None or changes:
                pair.problem(
                    f"{which(pair, side)} changed after connected: {changes}; "
                    f"{side.transport_log()}"
                )
            if side.changes_since(idle_from):
                pair.problem(f"{which(pair, side)} changed while idle")
        for side in pair.rtcstate_sides():
            # keepalives answered both ways, by hand on this side: through the
            # TURN allocation on a relayed pair, on the socket otherwise
            counts = await keepalive_counts(side.pc)
            if not (counts["responsesReceived"] and counts["responsesSent"]):
                pair.problem(f"{which(pair, side)}'s keepalive counts: {counts}")
    text = report(
        f"idle {IDLE:.0f} s with messages both ways every {SEND_EVERY} s",
        network.pairs,
        ["connect", "idle"],
    )
    assert_no_problems(text, network.pairs, internal_errors())


async def outage(
    network: Network, pairs: list[Pair], state: str, within: float
) -> float:
    """Pause the TURN server and wait (up to ``within``) for every rtcstate side
    to read ``state``; return the loop time of the pause."""
    loop = asyncio.get_running_loop()
    paused_at = loop.time()
    network.turn.pause()
    waits = [
        side.pc.wait_for_connection_state(state, timeout=within)
        for pair in pairs
        for side in pair.rtcstate_sides()
    ]
    await asyncio.gather(*waits, return_exceptions=True)
    return paused_at


def judge(
    pair: Pair, side: Side, figures: dict[str, float | None], problems: list[str]
) -> None:
    """Put a side's figures (those it has) and problems on its pair's report."""
    label = "local" if side is pair.local else "remote"
    for column, figure in figures.items():
        if figure is not None:
            pair.figures[f"{label} {column}"] = figure
    for problem in problems:
        pair.problem(f"{label} {problem}; now {side.state}; {side.transport_log()}")


async def exchange_after(pair: Pair) -> None:
    try:
        for sender, receiver in ((pair.local, pair.remote), (pair.remote, pair.local)):
            received = len(receiver.received)
            sender.send("after")
            await receiver.wait_for_messages(received + 1, 5)
    except Exception as exc:
        pair.problem(f"no message after the outage: {exc!r}")


@pytest.mark.timeout(60)
async def test_a_turn_outage_is_disconnected_then_connected(
    network: Network, rows: tuple[Row, ...], internal_errors: Callable[[], list[str]]
) -> None:
    await network.connect_all(rows)
    pairs = network.connected()
    loop = asyncio.get_running_loop()
    # settle into healthy keepalives first (a second of them)
    await asyncio.sleep(1.5)
    # measure past the target, to know by how much a miss misses
    paused_at = await outage(network, pairs, "disconnected", OUTAGE - 0.1)
    # the outage lasts OUTAGE seconds from the pause, whatever happened meanwhile
    await asyncio.sleep(max(0.0, paused_at + OUTAGE - loop.time()))
    resumed_at = loop.time()
    network.turn.resume()
    waits = [
        side.pc.wait_for_connection_state("connected", timeout=3.0)
        for pair in pairs
        for side in pair.rtcstate_sides()
    ]
    await asyncio.gather(*waits, return_exceptions=True)
    for pair in pairs:
        for side in pair.rtcstate_sides():
            gone = side.first("disconnected", paused_at)
            back = side.first("connected", resumed_at)
            judge(
                pair, side, {"disc.": gone, "conn.": back}, outage_problems(gone, back)
            )
        # the other implementations, for the record (libwebrtc waits ~5 s)
        if not pair.remote.is_rtcstate:
            seen = [s for t, s in pair.remote.states if t > paused_at]
            if seen:
                print(f"{pair.name}: the {pair.remote.kind} remote went {seen}")
    # and data flows again, both ways
    await asyncio.gather(*(exchange_after(pair) for pair in pairs))
    text = report(
        f"TURN server paused for {OUTAGE} s (targets: disconnected within "
        f"{DISCONNECTED_WITHIN} s, connected within {CONNECTED_WITHIN} s)",
        network.pairs,
        ["connect", "local disc.", "local conn.", "remote disc.", "remote conn."],
    )
    assert_no_problems(text, network.pairs, internal_errors())


@pytest.mark.timeout(60)
async def test_a_lasting_turn_outage_is_failed_at_15_s(
    network: Network, rows: tuple[Row, ...], internal_errors: Callable[[], list[str]]
) -> None:
    await network.connect_all(rows)
    pairs = network.connected()
    await asyncio.sleep(1.5)  # healthy keepalives first
    paused_at = await outage(
        network, pairs, "failed", FAILED_AT + FAILED_TOLERANCE + 1.0
    )
    for pair in pairs:
        for side in pair.rtcstate_sides():
            gone = side.first("disconnected", paused_at)
            failed = side.first("failed", paused_at)
            problems = lasting_outage_problems(gone, failed)
            judge(pair, side, {"disc.": gone, "failed": failed}, problems)
    text = report(
        f"TURN server paused for good (target: failed at {FAILED_AT} +- "
        f"{FAILED_TOLERANCE} s)",
        network.pairs,
        ["connect", "local disc.", "local failed", "remote disc.", "remote failed"],
    )
    assert_no_problems(text, network.pairs, internal_errors())
