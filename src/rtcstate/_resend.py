"""SCTP data sent into an outage goes again as soon as the path is back.

SCTP retransmits at its T3 timer, an RTO of 1 s or more after the last try, so data
queued on a channel would wait that long after the path returned. When an ICE
transport reads connected again after an outage, its SCTP transport's unacknowledged
chunks go at once instead. aiortc sends each chunk in a packet of its own, so a
long outage's backlog goes as a burst that can overflow the remote's socket buffer:
every 0.1 s, while acknowledgements make no progress, it goes again (a few times at
most).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCIceTransport, RTCPeerConnection

from . import _shims

__all__ = ["resend_after_outage"]

INTERVAL = 0.1  # between bursts while acknowledgements make no progress
CHECKS = 10  # bursts at most


def resend_after_outage(
    pc: RTCPeerConnection,
    transport: RTCIceTransport,
    closed: Callable[[], bool],
    on_error: Callable[[str, Exception], None],
    checks: int = CHECKS,
    acked: int | None = None,
) -> None:
    """The path of `transport` is back: resend what `pc`'s SCTP transport over
    it still waits to have acknowledged, while its DTLS transport is connected.
    `closed()` stops it; an exception is told to `on_error` and the data goes
    at the timer, as before."""
    sctp = pc.sctp
    if closed() or sctp is None or sctp.transport.transport is not transport:
        return
    if sctp.transport.state != "connected":
        # nothing can go over a DTLS transport that is not (or no longer)
        # connected: expiring T3 early would only shrink SCTP's window (the
        # failed send itself is dropped by _guards.guard_sctp)
        return
    try:
        acked = _shims.resend_sctp(sctp, acked)
    except Exception as exc:
        on_error("resending SCTP data", exc)
        return
    if acked is not None and checks > 1:
        asyncio.get_running_loop().call_later(
            INTERVAL,
            resend_after_outage,
            pc,
            transport,
            closed,
            on_error,
            checks - 1,
            acked,
        )
