"""aiortc's peer connection: the self-close, end-of-candidates, its ICE agent."""

from __future__ import annotations

import weakref
from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

from ._base import InternalsChangedError

# --- aiortc ------------------------------------------------------------------------

# aiortc's RTCPeerConnection starts close() by itself once every DTLS transport
# is closed (a remote hang-up), guarded by `self.__closeTask is None`. A browser
# does not: its state follows the transports. A non-None value in that slot turns
# the self-close off; close() never reads the slot.
_CLOSE_TASK = "_RTCPeerConnection__closeTask"
# aiortc's RTCIceGatherer records end-of-candidates from the remote here (set by
# addRemoteCandidate(None), from addIceCandidate(None) or a=end-of-candidates).
_REMOTE_END = "_remote_candidates_end"


class _SelfCloseDisabled:
    """Stands in aiortc's close-task slot so it never schedules its own close()."""

    def __repr__(self) -> str:
        return "<self-close disabled by rtcstate>"

    def done(self) -> bool:  # looks like a finished task to any reader
        return True


_SELF_CLOSE_DISABLED: Any = _SelfCloseDisabled()


def check(pc: RTCPeerConnection) -> None:
    """Raise [`InternalsChangedError`][rtcstate.InternalsChangedError] if `pc` lacks
    what rtcstate reads."""
    import aiortc

    # the close-task slot: without it the self-close cannot be switched off
    if not hasattr(pc, _CLOSE_TASK):
        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCPeerConnection has no {_CLOSE_TASK}; "
            "rtcstate was verified with aiortc 1.16 and cannot stop the connection "
            "from closing itself on a remote hang-up"
        )


def disable_self_close(pc: RTCPeerConnection) -> None:
    """Stop aiortc from calling `pc.close()` when every DTLS transport closed."""
    check(pc)
    # written: a browser's connection stays open on a remote hang-up
    setattr(pc, _CLOSE_TASK, _SELF_CLOSE_DISABLED)


def remote_end_of_candidates(transport: RTCIceTransport) -> bool:
    """Whether the remote signalled end-of-candidates to this ICE transport."""
    try:
        # read: the W3C ICE states tell "checking" from "failed" by it
        return bool(getattr(transport.iceGatherer, _REMOTE_END))
    except AttributeError:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCIceGatherer has no {_REMOTE_END}; "
            "rtcstate was verified with aiortc 1.16"
        ) from None


def connection(transport: RTCIceTransport) -> Any:
    """aioice's Connection behind an aiortc ICE transport."""
    # RTCIceTransport._connection: aiortc has no public way to its ICE agent
    return transport._connection


# During an ICE restart the transport's Connection is the new one, still checking,
# while the old one carries the data: what the selected pair and getStats() read.
_IN_USE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def set_in_use(transport: RTCIceTransport, in_use: Any | None) -> None:
    """The Connection that carries the data while a restart checks (`None`: the
    transport's own)."""
    if in_use is None:
        _IN_USE.pop(transport, None)
    else:
        _IN_USE[transport] = in_use


def connection_in_use(transport: RTCIceTransport) -> Any:
    """The aioice Connection that carries the transport's data now."""
    in_use = _IN_USE.get(transport)
    return connection(transport) if in_use is None else in_use
