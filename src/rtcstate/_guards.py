"""What rtcstate adds to each aioice `Connection`: a close that is safe at any
moment, and a loopback candidate where aioice gathers none. And to aiortc's SCTP:
chunks that cannot go once the connection closes or its DTLS transport is closed
are dropped, not raised in aiortc's own tasks.

Two races in aioice 0.13 leak on a `close()` at the wrong time:

* its consent task starts when `connect()` returns; if `close()` ran while the check
  list was completing, the task starts after the close and runs forever;
* a gathering adds its sockets to the connection only when it ends, so a `close()`
  before or during the gathering never closes them.

So the consent query returns at once on a closing connection, and a gathering does
not start on one, and closes the connection again (aioice's close is safe to repeat)
if it was closed meanwhile.

aioice never gathers loopback addresses, so on a host whose only interface is
loopback it has no candidate and never connects. The gathering adds a 127.0.0.1 host
candidate: with `loopback="auto"` when nothing else was gathered, with `"always"` in
any case, never with `"never"`, and never under the relay-only policy
(`iceTransportPolicy="relay"`).

The methods are reached through [`rtcstate._shims.connection_hooks`][].
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiortc import RTCIceTransport, RTCPeerConnection

from . import _shims

__all__ = ["guard_connection", "guard_sctp"]

logger = logging.getLogger("rtcstate")


def guard_connection(transport: RTCIceTransport, loopback: str = "auto") -> None:
    """Guard the transport's aioice `Connection` as the module says. Idempotent
    (the first call's `loopback` stays).

    :raises InternalsChangedError: if aioice's `Connection` lacks what this wraps.
    """
    hooks = _shims.connection_hooks(transport)
    if hooks is None:
        return
    consent, gather = hooks.query_consent, hooks.gather_candidates
    relay_only = hooks.relay_only()

    async def query_consent() -> None:
        if not hooks.closing():  # no consent task once close() has begun
            await consent()

    async def gather_candidates() -> None:
        if hooks.closing():
            return
        await gather()
        if hooks.closing():
            await hooks.close()  # its sockets came after the close: close them
            return
        if relay_only:
            return  # iceTransportPolicy "relay": never a host candidate
        if loopback == "always" or (loopback == "auto" and not hooks.gathered_any()):
            try:
                await hooks.add_loopback_candidates()
            except Exception:  # an extra candidate is not worth a failed gathering
                logger.warning("no 127.0.0.1 candidate", exc_info=True)

    hooks.install(query_consent, gather_candidates)


class _Closable(Protocol):
    @property
    def closed(self) -> bool: ...

    def internal_error(self, where: str, exc: Exception) -> None: ...


def guard_sctp(pc: RTCPeerConnection | None, tracker: _Closable) -> None:
    """Once `pc` has SCTP, its chunks that can no longer go (the connection
    closing, or DTLS closed: rtcstate keeps a hung-up connection open) are
    dropped quietly instead of raised in aiortc's own tasks. Idempotent."""
    sctp = None if pc is None else pc.sctp
    if sctp is None:
        return

    def quiet() -> bool:
        return tracker.closed or sctp.transport.state != "connected"

    try:
        _shims.guard_sends(sctp, quiet)
    except Exception as exc:
        tracker.internal_error("guard_sends", exc)
