"""An ICE restart's phases and decisions for one transport, sans-IO.

Theory of operation
-------------------
[`RestartState`][rtcstate._restart_state.RestartState] knows nothing of aioice, aiortc
or the event loop. The I/O side ([`rtcstate._restart.IceRestart`][]) tells it what
happened, with the facts it needs as plain values, and does what it answers: it
swaps aioice connections, and nothing else decides.

`phase` is what the state machine reads (`IceSnapshot.restart`):

* `None`: no restart under way (none yet, or the last one ended with a working pair);
* `"checking"`: a restart began (new credentials); its checks wait for the remote's
  credentials and the new candidates, then run;
* `"failed"`: the last restart ended with no working pair, new or old.

Beside it, `unproven`: this side's checks succeeded on a new pair while the old one
still worked, and the remote has not yet shown that it is on the new pair (its own
checks may fail). Until then the old pair is kept.

The decisions, in the order a restart meets them:

* a restart begins: always; an unproven pair is taken as proven (the new restart
  starts from the pair in use);
* our offer's answer keeps the remote's old credentials: the remote cannot restart,
  so the restart is abandoned (the old pair goes on if it works, else failed); any
  other answer lets the checks run;
* the checks succeed: a new generation; the old pair is kept, unproven, if it still
  works, else retired;
* the checks fail (their time ran out, an error): abandoned, as above;
* the unproven new pair is silent: the remote stayed on the old pair, so back to
  it, a new generation, no state change;
* the remote shows it is on the new pair (or the proof deadline passes): proven, the
  old pair is retired;
* consent expires: a restart under way fails.

Each decision that ends or begins something is an event: `events` counts them and
`detail` says what the latest was (the cause the state machine records).
"""

from __future__ import annotations

import enum

__all__ = ["Ending", "RestartState"]


class Ending(enum.Enum):
    """What becomes of the old and the new connection when a restart's checks
    end or are cut short."""

    CHECK = "check"
    """nothing ends: the checks may run (the remote's credentials are new)"""
    KEEP_OLD = "keep old"
    """the new pair is in use; the old one is kept until the new one is proven"""
    RETIRE_OLD = "retire old"
    """the new pair is in use; the old one no longer works"""
    PUT_BACK_OLD = "put back old"
    """no new pair; the old one still works and goes on"""
    FAILED = "failed"
    """no new pair, and the old one does not work: the transport has failed"""


class RestartState:
    """The phases of one ICE transport's restarts."""

    __slots__ = (
        "awaiting_remote",
        "detail",
        "events",
        "generation",
        "offered",
        "phase",
        "unproven",
    )

    def __init__(self) -> None:
        self.phase: str | None = None
        """`"checking"`, `"failed"` or `None` (see the module's table)"""
        self.detail: str | None = None
        """what the latest event was, for the causes"""
        self.events = 0
        """events so far (began, succeeded, failed, abandoned)"""
        self.generation = 0
        """times the pair in use changed (a restart succeeded, or an unproven
        one was given up): liveness starts again on each"""
        self.unproven = False
        """the new pair works here, not yet shown to work for the remote"""
        self.offered = False
        """our restart offer was applied: the next remote answer is its answer"""
        self.awaiting_remote = False
        """a restart under way still needs the remote's new credentials"""

    @property
    def restarting(self) -> bool:
        """A restart is under way (its checks have not ended)."""
        return self.phase == "checking"

    def proven(self) -> bool:
        """The remote is on the new pair (its datagram arrived there, the proof
        deadline passed, or a new restart starts from it); whether the old pair
        was still kept and is to be retired now."""
        if not self.unproven:
            return False
        self.unproven = False
        return True

    def begin(self, reason: str, remote_known: bool) -> None:
        """A restart began: new credentials, the checks to come once the remote's
        credentials are known (`remote_known`: they came with its offer)."""
        self.unproven = False
        self.offered = False
        self.awaiting_remote = not remote_known
        self._event("checking", reason)

    def answered(self, keeps_old: bool, old_works: bool) -> Ending:
        """The remote's answer to our restart offer arrived; `keeps_old`: it
        carries the remote's old credentials; `old_works`: the old pair still
        carries the data. Only the first answer of a restart that awaits one
        counts ([`Ending.CHECK`][rtcstate._restart_state.Ending] otherwise)."""
        if not (self.restarting and self.awaiting_remote):
            return Ending.CHECK
        self.offered = False
        if not keeps_old:
            self.awaiting_remote = False
            return Ending.CHECK
        return self.abandoned(
            "ICE restart abandoned: the remote answered with its old ICE "
            "credentials (it cannot restart ICE, as plain aiortc, or its "
            "restart failed before it answered)",
            old_works,
        )

    def succeeded(self, pair: str, old_works: bool) -> Ending:
        """The checks succeeded on the new pair `pair` (as the cause names it)."""
        self.generation += 1
        self.awaiting_remote = False
        self.unproven = old_works
        self._event(None, f"checks succeeded on new pair {pair}")
        return Ending.KEEP_OLD if old_works else Ending.RETIRE_OLD

    def abandoned(self, detail: str, old_works: bool) -> Ending:
        """The restart ends without a new pair (`detail` says why): the old one
        goes on if it still works (liveness judges it, as before the restart),
        else the transport has failed."""
        self.awaiting_remote = False
        if old_works:
            self._event(None, detail)
            return Ending.PUT_BACK_OLD
        self._event("failed", detail)
        return Ending.FAILED

    def silent(self, reason: str) -> bool:
        """Liveness found the new pair silent (`reason`); whether it was
        unproven, so that the transport goes back to the old pair: the remote
        never came to the new one. No state changes; liveness starts afresh."""
        if not self.unproven:
            return False
        self.unproven = False
        self.generation += 1
        self._event(
            None,
            "ICE restart abandoned: the remote did not take the new pair "
            f"({reason}); back on the old pair",
        )
        return True

    def consent_expired(self) -> bool:
        """Consent expired (nothing more is sent); whether a restart under way
        failed with it (an unproven pair is for
        [`proven`][rtcstate._restart_state.RestartState.proven] to settle first)."""
        if not self.restarting:
            return False
        self.awaiting_remote = False
        self._event("failed", "ICE restart failed: consent expired")
        return True

    def _event(self, phase: str | None, detail: str) -> None:
        self.phase = phase
        self.detail = detail
        self.events += 1
