"""The options both front ends take, checked once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .liveness import LivenessConfig

__all__ = ["DEFAULT_HISTORY_SIZE", "Loopback", "Options"]

DEFAULT_HISTORY_SIZE = 1000
"""How many changes `state_history` keeps by default (the oldest are dropped)."""

Loopback = Literal["auto", "always", "never"]


@dataclass(frozen=True, slots=True)
class Options:
    """What [`PeerConnection`][rtcstate.PeerConnection] and [`watch`][rtcstate.watch]
    take as keywords, checked when made.

    :ivar liveness: timers of the liveness monitor, or `None` for none (ICE
        transports then leave connected only when aiortc says failed).
    :ivar loopback: whether to offer a 127.0.0.1 candidate: `"auto"` when the
        host has no other address, `"always"`, or `"never"`.
    :ivar history_size: how many changes each history keeps.
    :ivar close_on_remote_hangup: close the connection as soon as the remote
        hangs up (its DTLS close_notify), as aiortc does by itself; by default
        it stays open, as in a browser, and only `"remotehangup"` fires.
    :raises TypeError: for a `liveness` that is not a
        [`LivenessConfig`][rtcstate.LivenessConfig].
    :raises ValueError: for any other value out of its range.
    """

    liveness: LivenessConfig | None = field(default_factory=LivenessConfig)
    loopback: Loopback = "auto"
    history_size: int = DEFAULT_HISTORY_SIZE
    close_on_remote_hangup: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.history_size, int) or self.history_size < 1:
            raise ValueError(
                f"history_size must be a positive int, not {self.history_size!r}"
            )
        if self.liveness is not None and not isinstance(self.liveness, LivenessConfig):
            raise TypeError(
                "liveness must be a LivenessConfig or None, not "
                + type(self.liveness).__name__
            )
        if not isinstance(self.close_on_remote_hangup, bool):
            raise TypeError(
                "close_on_remote_hangup must be a bool, not "
                + type(self.close_on_remote_hangup).__name__
            )
        if self.loopback not in ("auto", "always", "never"):
            raise ValueError(
                f"loopback must be 'auto', 'always' or 'never', not {self.loopback!r}"
            )
