"""What the remote's description says of each ICE transport: its ICE credentials,
whether it is ICE-lite, its candidates and its end-of-candidates.

[`remote_ice`][rtcstate._remote.remote_ice] reads them (through aiortc's own SDP
parser, in [`rtcstate._shims`][]);
[`keeps_credentials`][rtcstate._remote.keeps_credentials] tells a description that
restarts ICE from one that does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

from . import _shims

__all__ = ["RemoteIce", "keeps_credentials", "remote_ice"]


@dataclass(frozen=True)
class RemoteIce:
    """The remote's ICE parameters and candidates for one transport, from its
    description (aioice `Candidate`s)."""

    username: str
    password: str
    ice_lite: bool = False
    candidates: tuple[Any, ...] = field(default=(), repr=False)
    end_of_candidates: bool = False

    @property
    def credentials(self) -> tuple[str, str]:
        return self.username, self.password


def keeps_credentials(connection: Any, remote: RemoteIce) -> bool:
    """Whether `remote` has the credentials aioice's `connection` already uses (or
    it has none yet): a description without an ICE restart."""
    current = _shims.remote_parameters(connection)
    return current[0] is None or current == remote.credentials


def remote_ice(pc: RTCPeerConnection) -> dict[RTCIceTransport, RemoteIce]:
    """What `pc`'s remote description says of each ICE transport (the first m-line
    a transport carries speaks for it, as with BUNDLE)."""
    description = pc.remoteDescription
    if description is None:
        return {}
    by_mid: dict[str | None, RTCIceTransport] = {
        t.mid: t.receiver.transport.transport for t in pc.getTransceivers()
    }
    sctp = pc.sctp
    if sctp is not None:
        by_mid[sctp.mid] = sctp.transport.transport
    out: dict[RTCIceTransport, RemoteIce] = {}
    for media in _shims.ice_media(description.sdp):
        transport = by_mid.get(media.mid)
        if transport is None or transport in out:
            continue
        if media.username is None or media.password is None:
            continue
        out[transport] = RemoteIce(
            media.username,
            media.password,
            media.ice_lite,
            media.candidates,
            media.end_of_candidates,
        )
    return out
