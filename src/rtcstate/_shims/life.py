"""aioice's connection's life: closed safely, loopback, consent (see the package)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCIceTransport

from ._base import _changed
from .gather import relay_only
from .peerconnection import connection

# --- aioice: the connection's life -------------------------------------------------


class ConnectionHooks:
    """aioice's `Connection` of one transport, as rtcstate's guards
    ([`rtcstate._guards`][]) wrap it: its `query_consent` and `gather_candidates`
    as they were, and what the wrappers read and do."""

    __slots__ = ("_connection", "gather_candidates", "query_consent")

    def __init__(self, aioice_connection: Any) -> None:
        self._connection = aioice_connection
        # Connection.query_consent, gather_candidates: wrapped on the instance
        self.query_consent: Callable[[], Awaitable[None]] = (
            aioice_connection.query_consent
        )
        self.gather_candidates: Callable[[], Awaitable[None]] = (
            aioice_connection.gather_candidates
        )

    def closing(self) -> bool:
        # Connection._closing: close() has begun
        closing: bool = self._connection._closing
        return closing

    def relay_only(self) -> bool:
        return relay_only(self._connection)

    def gathered_any(self) -> bool:
        # Connection._local_candidates: what the gathering found
        return bool(self._connection._local_candidates)

    async def add_loopback_candidates(self) -> None:
        """A 127.0.0.1 host candidate per component, which aioice's own
        gathering leaves out."""
        # Connection._components, get_component_candidates: aioice's gathering,
        # for one address
        conn = self._connection
        for component in sorted(conn._components):
            conn._local_candidates += await conn.get_component_candidates(
                component=component, addresses=["127.0.0.1"]
            )

    async def close(self) -> None:
        await self._connection.close()

    def install(
        self,
        query_consent: Callable[[], Awaitable[None]],
        gather_candidates: Callable[[], Awaitable[None]],
    ) -> None:
        """Put the wrappers in place of the two methods, on the instance."""
        query_consent._rtcstate_guard = True  # type: ignore[attr-defined]
        self._connection.query_consent = query_consent
        self._connection.gather_candidates = gather_candidates


def connection_hooks(transport: RTCIceTransport) -> ConnectionHooks | None:
    """The hooks of the transport's aioice `Connection`, or `None` once its
    methods are wrapped already.

    :raises InternalsChangedError: if it lacks what rtcstate reads of it (here
        and in the tap)."""
    aioice_connection = connection(transport)
    consent = getattr(aioice_connection, "query_consent", None)
    gather = getattr(aioice_connection, "gather_candidates", None)
    missing = [
        name
        for name in (
            "_closing",
            "_tie_breaker",
            "_local_candidates",
            "_components",
            "_early_checks_done",
            "local_password",
            "_check_list",
            "_check_list_done",
            "remote_is_lite",
            "_transport_policy",
        )
        if not hasattr(aioice_connection, name)
    ]
    if consent is None or gather is None or missing:
        raise _changed(
            "Connection lacks query_consent / gather_candidates or "
            + ", ".join(missing or ["-"])
        )
    if getattr(consent, "_rtcstate_guard", False):
        return None
    return ConnectionHooks(aioice_connection)


def take_over_consent(transport: RTCIceTransport) -> None:
    """Stop aioice's own consent checks (one every 5 s, giving up after ~30 s):
    the liveness monitor's keepalives are the consent checks from now on, so the
    two do not add up on the wire."""
    aioice_connection = connection(transport)
    # Connection._query_consent_task: aioice's consent checks, cancelled here
    if not hasattr(aioice_connection, "_query_consent_task"):
        raise _changed("Connection has no _query_consent_task")
    task = aioice_connection._query_consent_task
    if task is not None and not task.done():
        task.cancel()
    aioice_connection._query_consent_task = None


def restore_consent(transport: RTCIceTransport) -> None:
    """Undo [`take_over_consent`][rtcstate._shims.take_over_consent]: aioice checks
    consent itself again (as with `liveness=None`), unless it is closing or already
    does."""
    aioice_connection = connection(transport)
    # Connection._query_consent_task, query_consent: started again as connect() does
    task = getattr(aioice_connection, "_query_consent_task", None)
    if aioice_connection._closing or aioice_connection.remote_password is None:
        return
    if task is None or task.done():
        aioice_connection._query_consent_task = asyncio.ensure_future(
            aioice_connection.query_consent()
        )
