"""aioice's connection's life: closed safely, loopback, consent (see the package)."""

from __future__ import annotations

import asyncio

from aiortc import RTCIceTransport

from ._base import _changed, logger
from .peerconnection import connection

# --- aioice: the connection's life -------------------------------------------------


def guard_connection(transport: RTCIceTransport, loopback: str = "auto") -> None:
    """Make aioice's connection safe to close at any moment, and able to use
    loopback. Idempotent (the first call's `loopback` stays).

    Two races in aioice 0.13 leak on a `close()` at the wrong time:

    * its consent task starts when `connect()` returns; if `close()` ran
      while the check list was completing, the task starts after the close and
      runs forever;
    * a gathering adds its sockets to the connection only when it ends, so a
      `close()` before or during the gathering never closes them.

    The instance's `query_consent` and `gather_candidates` are wrapped: the
    first returns at once on a closing connection, the second does not start
    on one and closes the connection again (aioice's close is safe to repeat)
    if it was closed meanwhile.

    aioice never gathers loopback addresses, so on a host whose only interface
    is loopback it has no candidate and never connects. The gathering wrapper
    adds a 127.0.0.1 host candidate: with `loopback="auto"` when nothing else
    was gathered, with `"always"` in any case, never with `"never"`, and
    never under the relay-only policy (`iceTransportPolicy="relay"`).
    """
    aioice_connection = connection(transport)
    # Connection.query_consent, gather_candidates: wrapped on the instance (the
    # two leaks above); the names listed: read here and by the tap
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
        return

    async def query_consent() -> None:
        # Connection._closing: no consent task once close() has begun
        if not aioice_connection._closing:
            await consent()

    from aioice.ice import TransportPolicy

    # Connection._transport_policy: no host candidate under the relay-only policy
    relay_only = aioice_connection._transport_policy == TransportPolicy.RELAY

    async def gather_candidates() -> None:
        if aioice_connection._closing:
            return
        await gather()
        if aioice_connection._closing:
            await aioice_connection.close()
            return
        if relay_only:
            return  # iceTransportPolicy "relay": never a host candidate
        # Connection._local_candidates, _components, get_component_candidates:
        # aioice's own gathering, for the loopback address it leaves out
        if loopback == "always" or (
            loopback == "auto" and not aioice_connection._local_candidates
        ):
            try:
                for component in sorted(aioice_connection._components):
                    aioice_connection._local_candidates += (
                        await aioice_connection.get_component_candidates(
                            component=component, addresses=["127.0.0.1"]
                        )
                    )
            except Exception:  # an extra candidate is not worth a failed gathering
                logger.warning("no 127.0.0.1 candidate", exc_info=True)

    query_consent._rtcstate_guard = True  # type: ignore[attr-defined]
    aioice_connection.query_consent = query_consent
    aioice_connection.gather_candidates = gather_candidates


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
