"""Aiortc's SCTP after an outage (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ._base import InternalsChangedError

# --- aiortc: SCTP after an outage ----------------------------------------------------
# RTCSctpTransport keeps the DATA chunks sent but not acknowledged in `_sent_queue`,
# and retransmits them when its T3 timer (`_t3_handle`, `_t3_expired`) fires, one RTO
# (at least 1 s) after the last retransmission.


def resend_sctp(sctp: Any, acked: int | None = None) -> int | None:
    """Retransmit at once what SCTP sent during an outage and is waiting on its T3
    timer for (RFC 9260 6.3.3, as if the timer had fired), unless the remote's
    cumulative acknowledgement moved on from `acked` (the acknowledgements are
    driving the retransmissions then). Returns the cumulative acknowledgement
    now, to pass next time, or `None` when nothing waits.

    :raises InternalsChangedError: if the transport lacks what this reads.
    """
    missing = [
        name
        for name in ("_sent_queue", "_t3_handle", "_t3_expired", "_last_sacked_tsn")
        if not hasattr(sctp, name)
    ]
    if missing:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCSctpTransport lacks "
            f"{', '.join(missing)}; verified with aiortc 1.16"
        )
    if not sctp._sent_queue:
        return None
    # RTCSctpTransport._last_sacked_tsn: the cumulative TSN of the latest SACK
    now: int = sctp._last_sacked_tsn
    handle = sctp._t3_handle
    if acked in (None, now) and handle is not None:
        handle.cancel()
        sctp._t3_expired()  # clears _t3_handle; _transmit() restarts the timer
    return now


# --- aiortc: SCTP over a DTLS transport that cannot send ----------------------------
# RTCSctpTransport._send_chunk: every chunk goes through it, from tasks of aiortc's
# own (_transmit at T3's expiry, _data_channel_flush) that nobody awaits.


def guard_sends(sctp: Any, quiet: Callable[[], bool]) -> None:
    """Once `quiet()` says the connection is closing or its DTLS transport no
    longer sends, a chunk that cannot go is dropped instead of failing the
    aiortc task that sent it ("Task exception was never retrieved": OpenSSL's
    "protocol is shutdown" while DTLS shuts down, `ConnectionError` after).
    Idempotent.

    :raises InternalsChangedError: if the transport has no `_send_chunk`.
    """
    send: Callable[[Any], Awaitable[None]] | None = getattr(sctp, "_send_chunk", None)
    if send is None:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCSctpTransport lacks _send_chunk; "
            "verified with aiortc 1.16"
        )
    if getattr(send, "_rtcstate_guard", False):
        return

    async def _send_chunk(chunk: Any) -> None:
        try:
            await send(chunk)
        except Exception:
            if quiet():
                return  # nobody could receive it: nothing to report
            raise

    _send_chunk._rtcstate_guard = True  # type: ignore[attr-defined]
    sctp._send_chunk = _send_chunk
