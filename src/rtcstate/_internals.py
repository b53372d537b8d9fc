"""Every use of an aiortc private attribute, in one place.

rtcstate needs two facts aiortc's public API does not give, and one behaviour it
cannot switch off publicly. Each is read or set here and nowhere else, checked by
:func:`check` when a connection is wrapped, and covered by
``tests/test_internals.py``, so an aiortc release that renames them fails loudly
instead of silently giving wrong states. Verified with aiortc 1.16.0 and aioice
0.13.0 (the ranges pinned in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

__all__ = [
    "InternalsChangedError",
    "check",
    "disable_self_close",
    "remote_end_of_candidates",
]

# aiortc's RTCPeerConnection starts close() by itself once every DTLS transport
# is closed (a remote hang-up), guarded by `self.__closeTask is None`. A browser
# does not: its state follows the transports. A non-None value in that slot turns
# the self-close off; close() never reads the slot.
_CLOSE_TASK = "_RTCPeerConnection__closeTask"
# aiortc's RTCIceGatherer records end-of-candidates from the remote here (set by
# addRemoteCandidate(None), from addIceCandidate(None) or a=end-of-candidates).
_REMOTE_END = "_remote_candidates_end"


class InternalsChangedError(RuntimeError):
    """The installed aiortc no longer has an internal rtcstate relies on."""


class _SelfCloseDisabled:
    """Stands in aiortc's close-task slot so it never schedules its own close()."""

    def __repr__(self) -> str:
        return "<self-close disabled by rtcstate>"

    def done(self) -> bool:  # looks like a finished task to any reader
        return True


_SELF_CLOSE_DISABLED: Any = _SelfCloseDisabled()


def check(pc: RTCPeerConnection) -> None:
    """Raise :class:`InternalsChangedError` if ``pc`` lacks what rtcstate reads."""
    import aiortc

    if not hasattr(pc, _CLOSE_TASK):
        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCPeerConnection has no {_CLOSE_TASK}; "
            "rtcstate was verified with aiortc 1.16 and cannot stop the connection "
            "from closing itself on a remote hang-up"
        )


def disable_self_close(pc: RTCPeerConnection) -> None:
    """Stop aiortc from calling ``pc.close()`` when every DTLS transport closed."""
    check(pc)
    setattr(pc, _CLOSE_TASK, _SELF_CLOSE_DISABLED)


def self_close_disabled(pc: RTCPeerConnection) -> bool:
    """Whether :func:`disable_self_close` is in effect on ``pc``."""
    return getattr(pc, _CLOSE_TASK, None) is _SELF_CLOSE_DISABLED


def remote_end_of_candidates(transport: RTCIceTransport) -> bool:
    """Whether the remote signalled end-of-candidates to this ICE transport."""
    try:
        return bool(getattr(transport.iceGatherer, _REMOTE_END))
    except AttributeError:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCIceGatherer has no {_REMOTE_END}; "
            "rtcstate was verified with aiortc 1.16"
        ) from None
