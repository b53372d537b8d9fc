r"""Test helpers for applications: negotiation, a faulty UDP link between two
peers, and random faults to play on it.

[`negotiate`][rtcstate.testing.negotiate] runs the offer/answer between two peers
in one process and [`connect`][rtcstate.testing.connect] also waits until both read
`connected`:

```python
a, b = rtcstate.PeerConnection(), rtcstate.PeerConnection()
a.createDataChannel("chat")
await connect(a, b)
```

[`FaultyLink`][rtcstate.testing.FaultyLink] is a UDP relay on 127.0.0.1. Rewrite each
side's SDP with it before handing it to the other side
(`negotiate(a, b, link=link)` does), and
the peers talk through the relay, which can cut, drop or delay each direction:

```python
async with FaultyLink() as link:
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(link.answer_to_offerer(b.localDescription))
    ...
    link.cut()          # both directions, silently
    link.restore()
    link.set_loss(0.3)  # 30 % random loss in both directions
    link.set_filter(lambda data: data[:2] == b"\x00\x01")  # no STUN requests
```

It relays one ICE transport: a session with a BUNDLE group (the first m-line's
transport is the one relayed), or a single m-line. Everything it
does is bounded (packets relayed, packets held for delay) and it closes its
sockets on [`FaultyLink.close`][rtcstate.testing.FaultyLink.close].

[`fault_schedule`][rtcstate.testing.fault_schedule] and
[`apply_faults`][rtcstate.testing.apply_faults] play random, seeded faults on a link
(rtcstate's own soak, in its tests and benchmarks, runs them on many pairs).

The modules: `link` (`FaultyLink`), `negotiation` (`negotiate`, `connect`),
`faults` (schedules, playing them, where they lead) and `timers` (`FAST_LIVENESS`,
`RecoverySettings`, `FAST_RECOVERY`); use the names re-exported here.
"""

from __future__ import annotations

from .faults import (
    Fault,
    SettleBounds,
    apply_faults,
    expected_end,
    fault_schedule,
    settle_bounds,
)
from .link import Direction, FaultyLink
from .negotiation import Negotiator, connect, negotiate
from .timers import FAST_LIVENESS, FAST_RECOVERY, RecoverySettings

__all__ = [
    "FAST_LIVENESS",
    "FAST_RECOVERY",
    "Direction",
    "Fault",
    "FaultyLink",
    "Negotiator",
    "RecoverySettings",
    "SettleBounds",
    "apply_faults",
    "connect",
    "expected_end",
    "fault_schedule",
    "negotiate",
    "settle_bounds",
]
