"""rtcstate's own ICE gathering: every server of `iceServers`, host addresses
filtered, and, with `trickle=True`, candidates told as they come.

Theory of operation. aiortc's `setLocalDescription` awaits each ICE gatherer's
`gather()`, which awaits aioice's `gather_candidates()`: host sockets, then one STUN
and one TURN server at most, all at once, for up to 5 s. A server that never answers
holds the description for those 5 s. [`Gathering`][rtcstate._gathering.Gathering]
replaces each gatherer's `gather()` (restarts included, as a restart gathers through
the same gatherer):

1. the host phase binds a socket per host address the filter keeps (127.0.0.1 as the
   `loopback` option says), at once;
2. the server phase asks every STUN server from every IPv4 host socket and allocates
   on every TURN server, each on its own, each bounded by the gathering timeout, so a
   silent server delays no other's candidate;
3. without `trickle`, `gather()` returns after both phases, as aiortc's does, and the
   description carries every candidate; with `trickle`, it returns after the host
   phase: each later candidate is added to the aioice connection (paired with the
   remote's candidates if checks have begun) and told to `on_candidate` with its
   m-line, and the end is told as `None`. Meanwhile the check list does not fail for
   want of pairs, as a candidate may still come. Without a host candidate
   (`iceTransportPolicy="relay"`, or every address filtered out) it returns with the
   first candidate instead, as aiortc starts no checks on a transport without one.

Each IO step is a function of [`rtcstate._shims.gather`][]; this module holds the
order and the policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceGatherer, RTCIceTransport

from ._failsafe import KeptTasks
from ._ice_servers import ServerUrl
from ._netmon import interface_addresses
from ._shims import gather as shim

__all__ = ["AddressFilter", "GatherPolicy", "Gathering", "host_addresses"]

logger = logging.getLogger("rtcstate")

AddressFilter = Callable[[str, str], bool]
"""A predicate on (interface name, address): `True` keeps the address."""

DEFAULT_TIMEOUT = 5.0  # aioice's: how long a server may take to answer


@dataclass(frozen=True, slots=True)
class GatherPolicy:
    """What one connection gathers: from which servers, which host addresses,
    for how long, and whether it trickles."""

    servers: tuple[ServerUrl, ...] = ()
    address_filter: AddressFilter | None = None
    loopback: str = "auto"
    timeout: float = DEFAULT_TIMEOUT
    trickle: bool = False
    tls_context: ssl.SSLContext | None = field(default=None, compare=False)


def host_addresses(
    ipv4: bool, ipv6: bool, keep: AddressFilter | None
) -> list[tuple[str, str]]:
    """(interface, address) of each address aioice would gather (IPv4 but
    127.0.0.1, IPv6 but ::1 and link-local), that `keep` keeps, plus the
    loopback interface's 127.0.0.1 last."""
    found: list[tuple[str, str]] = []
    loopback: list[tuple[str, str]] = []
    for name, address, scope in interface_addresses():
        if ":" not in address:
            if ipv4:
                (loopback if address == "127.0.0.1" else found).append((name, address))
        elif ipv6 and address != "::1" and scope == 0:
            found.append((name, address))
    if keep is not None:
        found = [e for e in found if keep(*e)]
        loopback = [e for e in loopback if keep(*e)]
    return found + loopback[:1]


class Gathering:
    """The gathering of one peer connection's ICE transports (see the module).

    `on_candidate(transport, candidate)` is told each trickled candidate, and
    `on_complete()` once every gatherer in `transports()` has completed after
    a trickled gathering; `on_error` gets what went wrong inside. While
    [`hold`][rtcstate._gathering.Gathering.hold] is in force (during
    `setLocalDescription`), what would be told waits, so that nothing is
    signalled before the description it belongs to."""

    def __init__(
        self,
        policy: GatherPolicy,
        transports: Callable[[], Iterable[RTCIceTransport]],
        on_candidate: Callable[[RTCIceTransport, Any], None],
        on_complete: Callable[[], None],
        on_error: Callable[[str, Exception], None],
    ) -> None:
        self.policy = policy
        self._transports = transports
        self._on_candidate = on_candidate
        self._on_complete = on_complete
        self._installed: weakref.WeakSet[RTCIceGatherer] = weakref.WeakSet()
        self._tasks = KeptTasks(lambda _, exc: on_error("gathering", exc))
        self._closed = False
        self._held: list[Callable[[], None]] | None = None
        self._complete_told = True  # until a trickled gathering begins
        self._entries: list[tuple[str, str]] | None = None

    def install(self) -> None:
        """Take over the gathering of each transport not taken over yet
        (before `setLocalDescription`, which gathers)."""
        for transport in self._transports():
            gatherer = transport.iceGatherer
            if gatherer in self._installed:
                continue
            shim.check_gathering(gatherer)
            self._installed.add(gatherer)
            shim.replace_gather(gatherer, self._gather_for(transport, gatherer))

    def prepare(self) -> None:
        """Read the host addresses for the gatherings to come (before
        `setLocalDescription`): the application's `address_filter` runs
        here, so an exception of it fails the call before anything changed."""
        self._entries = host_addresses(True, True, self.policy.address_filter)

    def hold(self) -> None:
        """Keep what would be told until
        [`release`][rtcstate._gathering.Gathering.release]."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Tell what was kept, in order, and from now on as it comes."""
        held, self._held = self._held, None
        for tell in held or ():
            tell()

    def close(self) -> None:
        """Stop every gathering under way; nothing is told from now on."""
        self._closed = True
        self._held = None
        self._tasks.cancel()

    def _tell(self, tell: Callable[[], None]) -> None:
        if self._closed:
            return
        if self._held is not None:
            self._held.append(tell)
        else:
            tell()

    def _track(self, conn: Any, awaitable: Any) -> asyncio.Future[Any]:
        """Run `awaitable` as a task that ends when the gathering closes or
        `conn` does (a restart retires it, BUNDLE drops its transport)."""
        task: asyncio.Future[Any] = asyncio.ensure_future(awaitable)
        self._tasks.keep(task)

        def cancel() -> None:
            task.cancel()

        shim.when_closing(conn, cancel)
        return task

    def _gather_for(
        self, transport: RTCIceTransport, gatherer: RTCIceGatherer
    ) -> Callable[[], Any]:
        async def gather() -> None:  # RTCIceGatherer.gather()
            if shim.gatherer_state(gatherer) != "new" or self._closed:
                return
            conn = shim.connection_of(gatherer)
            if shim.closing(conn):
                return
            addresses = self._addresses(conn)
            shim.set_gatherer_state(gatherer, "gathering")
            self._complete_told = False
            await self._hosts(conn, addresses)
            if self._closed or shim.closing(conn):
                return
            if not self.policy.trickle:
                servers = self._track(conn, self._servers(conn, None))
                try:
                    await servers
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # setLocalDescription itself was cancelled
                    # the connection closed meanwhile: nothing more to gather
                shim.end_local_candidates(conn)
                shim.set_gatherer_state(gatherer, "completed")
                return
            shim.end_local_candidates(conn)
            shim.poke_gatherer(gatherer)  # a restart under way may check now
            ongoing = True
            shim.hold_failure(conn, lambda: ongoing)

            # with no host candidate (relay-only, or every address filtered out)
            # the description waits for the first candidate: aiortc starts no
            # checks on a transport without one
            first = asyncio.Event()
            waiting = not shim.has_candidates(conn)

            def told(candidate: Any) -> None:
                if waiting and not first.is_set():
                    first.set()  # it goes in the description
                elif shim.connection_of(gatherer) is conn:
                    # (after a restart, the old credentials' candidates are not
                    # signalled: they would pair with nothing)
                    self._tell(lambda: self._on_candidate(transport, candidate))

            async def rest() -> None:
                nonlocal ongoing
                try:
                    await self._servers(conn, told)
                finally:
                    ongoing = False
                    shim.release_failure(conn)
                    self._tell(lambda: self._completed(gatherer, conn))

            task = self._track(conn, rest())
            if waiting:
                wait = asyncio.ensure_future(first.wait())
                try:
                    await asyncio.wait(
                        {task, wait}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    wait.cancel()

        return gather

    def _completed(self, gatherer: RTCIceGatherer, conn: Any) -> None:
        """A trickled gathering ended: its gatherer reads completed (unless a
        restart gave it another connection meanwhile), and once every
        transport's has, the end is told once."""
        if shim.connection_of(gatherer) is conn and not shim.closing(conn):
            shim.set_gatherer_state(gatherer, "completed")
        if not self._complete_told and all(
            shim.gatherer_state(t.iceGatherer) == "completed"
            for t in self._transports()
        ):
            self._complete_told = True
            self._on_complete()

    def _addresses(self, conn: Any) -> list[str]:
        """The host addresses to bind, the filter and the loopback option
        applied."""
        if shim.relay_only(conn):
            return []  # iceTransportPolicy "relay": never a host candidate
        ipv4, ipv6 = shim.families(conn)
        entries = self._entries
        if entries is None:  # not prepared: read them now
            entries = host_addresses(True, True, self.policy.address_filter)
        entries = [e for e in entries if (ipv6 if ":" in e[1] else ipv4)]
        others = [e for e in entries if e[1] != "127.0.0.1"]
        loopback = self.policy.loopback
        if loopback == "never" or (loopback == "auto" and others):
            entries = others
        return [address for _, address in entries]

    async def _hosts(self, conn: Any, addresses: list[str]) -> None:
        """Phase 1: a host socket and candidate per address."""
        for component in shim.components(conn):
            for address in addresses:
                try:
                    protocol = await shim.bind_host(conn, address, component)
                except OSError as exc:
                    logger.warning("could not bind to %s: %s", address, exc)
                    continue
                if not shim.add_local(conn, shim.local_candidate(protocol), protocol):
                    await shim.close_protocol(protocol)
                    return

    async def _servers(self, conn: Any, told: Callable[[Any], None] | None) -> None:
        """Phase 2: every STUN and TURN server at once, each bounded."""
        jobs: list[Any] = []
        relay_only = shim.relay_only(conn)
        for server in self.policy.servers:
            if server.kind == "stun" and not relay_only:
                for protocol in shim.stun_protocols(conn):
                    jobs.append(_reflexive(self.policy, conn, protocol, server, told))
            elif server.kind == "turn":
                for component in shim.components(conn):
                    jobs.append(_relay(self.policy, conn, component, server, told))
        if jobs:
            await asyncio.gather(*jobs)


async def _reflexive(  # one STUN server, from one host socket
    policy: GatherPolicy,
    conn: Any,
    protocol: Any,
    server: ServerUrl,
    told: Callable[[Any], None] | None,
) -> None:
    try:
        candidate = await asyncio.wait_for(
            shim.server_reflexive(protocol, server.address), policy.timeout
        )
    except shim.SERVER_ERRORS as exc:  # a timeout, no answer, OSError
        logger.info("no candidate from %s: %r", server.url, exc)
        return
    if shim.has_address(conn, candidate):
        return  # redundant (RFC 8445 5.1.3): another server saw the same
    if shim.add_local(conn, candidate, None) and told is not None:
        told(candidate)


async def _relay(  # one TURN server, for one component
    policy: GatherPolicy,
    conn: Any,
    component: int,
    server: ServerUrl,
    told: Callable[[Any], None] | None,
) -> None:
    tls = None
    if server.transport == "tls":
        tls = policy.tls_context or ssl.create_default_context()
    try:
        candidate, protocol = await asyncio.wait_for(
            shim.relayed(
                conn,
                component,
                server.address,
                server.username,
                server.password,
                "udp" if server.transport == "udp" else "tcp",
                tls,
            ),
            policy.timeout,
        )
    except shim.SERVER_ERRORS as exc:  # a timeout, a refusal, TLS, OSError
        logger.info("no relayed candidate from %s: %r", server.url, exc)
        return
    if not shim.add_local(conn, candidate, protocol, server.transport):
        with contextlib.suppress(Exception):
            await shim.close_protocol(protocol)
        return
    if told is not None:
        told(candidate)
