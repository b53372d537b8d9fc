"""The one place tests read what a connection's tracker holds inside: its
readout (liveness drivers, restarts under way) and its feed's waiters. Tests
that need more than a connection's public state come here, so a change to the
wiring changes this module, not the tests."""

from __future__ import annotations

import rtcstate
from rtcstate._feed import ChangeFeed
from rtcstate._readout import Readout


def readout(pc: rtcstate.PeerConnection) -> Readout:
    """What `pc`'s tracker reads out: per-transport liveness and restarts."""
    return pc._tracker.read


def feed(pc: rtcstate.PeerConnection) -> ChangeFeed:
    """`pc`'s event feed (its waiters and iterators)."""
    return pc._tracker.feed
