"""Short timers for tests: liveness, and a recovery policy's settings."""

from __future__ import annotations

from dataclasses import dataclass

from ..liveness import LivenessConfig

FAST_LIVENESS = LivenessConfig(
    keepalive_interval=0.2,
    probe_after=0.3,
    probe_interval=0.02,
    disconnected_probe_interval=0.05,
    disconnected_timeout=0.6,
    failed_timeout=1.5,
)
"""Short liveness timers for tests: a cut reads `disconnected` after 0.6 s
and `failed` after 1.5 s. Vary them with `dataclasses.replace`."""


@dataclass(frozen=True)
class RecoverySettings:
    """The settings of a [`recover`][rtcstate.recover] policy, as a fault
    schedule assumes it (the defaults are `recover()`'s)."""

    grace: float = 0.5
    attempts: int = 3
    backoff: float = 1.0
    timeout: float = 10.0


FAST_RECOVERY = RecoverySettings(grace=0.3, attempts=3, backoff=0.2, timeout=2.0)
"""A short recovery policy to go with
[`FAST_LIVENESS`][rtcstate.testing.FAST_LIVENESS]: it restarts ICE 0.3 s after
`disconnected`, and gives up about 7.5 s after a path is lost for good."""
