"""Soak: many rtcstate pairs through FaultyLinks with random, seeded faults.

Each pair gets its own schedule of faults, drawn from the seed: cuts in both
directions and in one, loss, delay, and for some pairs a permanent cut. Then:

- every recorded state sequence must be a path of the state graph
  (``rtcstate.rules.is_valid_transition``);
- nothing may raise (handlers, tasks, the event loop's exception handler);
- each pair must end in the state its faults imply: ``failed`` after a
  permanent cut, ``connected`` otherwise.

With ``--recovery`` each offerer runs ``rtcstate.recover()`` (``--fast``: the short
``FAST_RECOVERY`` settings, else ``recover()``'s defaults), the schedules also move
paths for good and have outages long enough to read ``failed``, and each pair must
end ``connected``, or closed by the policy when its schedule left a cut in place,
within ``rtcstate.testing.settle_bounds()`` of its last fault; both peers' paths are
checked, and each pair's link and policy must be closed and ended. Pairs then run
``--concurrency`` at a time, each on its own clock.

The same seed gives the same schedules. The soak is ``tests.support.soak.soak``;
a short version runs in the tests (tests/test_soak.py).

    python benchmarks/reliability/soak.py [--pairs 20] [--seconds 60] [--seed 1]
                                          [--fast] [--recovery] [--concurrency N]
    python benchmarks/reliability/soak.py --pairs 4 --seconds 10 --fast --seed 3
    python benchmarks/reliability/soak.py --recovery --fast --pairs 200 \
                                          --seconds 30 --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import rtcstate
from rtcstate.testing import (
    FAST_LIVENESS,
    FAST_RECOVERY,
    RecoverySettings,
    settle_bounds,
)

# rtcstate's own soak and footprint live with its tests (tests/support/)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.leaks import Footprint
from tests.support.soak import SoakResult, soak


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--pairs", type=int, default=20, help="pairs, each on a link")
    parser.add_argument(
        "--seconds", type=float, default=60, help="how long faults are played"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="draws the faults' schedules"
    )
    parser.add_argument("--fast", action="store_true", help="short liveness timers")
    parser.add_argument(
        "--recovery",
        action="store_true",
        help="the offerers run rtcstate.recover(); path moves and outages too",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="with --recovery: pairs at a time (None: all at once)",
    )
    args = parser.parse_args()
    if args.concurrency is not None and not args.recovery:
        parser.error("--concurrency goes with --recovery")
    config = FAST_LIVENESS if args.fast else rtcstate.LivenessConfig()
    if args.recovery:
        return _recovery(
            args, config, FAST_RECOVERY if args.fast else RecoverySettings()
        )
    began = time.perf_counter()
    results = asyncio.run(soak(args.pairs, args.seconds, args.seed, config))
    faults = sum(len(r.faults) for r in results)
    changes = sum(len(r.history) for r in results)
    print(
        f"soak: {args.pairs} pairs, {args.seconds:.0f} s, seed {args.seed}, "
        f"{'fast' if args.fast else 'default'} timers: {faults} faults, {changes} "
        f"state changes, {time.perf_counter() - began:.0f} s wall"
    )
    bad = [r for r in results if not r.ok]
    for r in results:
        status = "ok " if r.ok else "BAD"
        print(
            f"  {status} pair {r.index:2}: {len(r.faults):2} faults, "
            f"expected {r.expected}, ended {r.final}, {len(r.history)} changes"
        )
        if not r.ok:
            for fault in r.faults:
                print(f"        {fault}")
            for line in r.invalid + r.errors:
                print(f"        ! {line}")
    errors = sum(len(r.errors) for r in results)
    valid = not any(r.invalid for r in results)
    print(
        f"{len(results) - len(bad)}/{len(results)} pairs as implied, "
        f"paths all valid: {valid}, errors: {errors}"
    )
    return 1 if bad else 0


def _recovered_as_implied(r: SoakResult, bound: float) -> bool:
    """Where its schedule leads, within the bound, both peers agreeing, the link
    closed and the policy ended."""
    if not r.ok or not r.link_closed or not r.policy_ended:
        return False
    if (r.settled or 0.0) > bound:
        return False
    if r.final == "connected":
        return r.answerer_final == "connected" and bool(r.delivered)
    return r.gave_up is not None and r.answerer_final == "failed"


def _recovery(
    args: argparse.Namespace,
    config: rtcstate.LivenessConfig,
    settings: RecoverySettings,
) -> int:
    bounds = settle_bounds(config, settings)

    async def run() -> tuple[list[SoakResult], Footprint, Footprint]:
        before = await Footprint.measure()
        results = await soak(
            args.pairs,
            args.seconds,
            args.seed,
            config,
            recovery=settings,
            concurrency=args.concurrency,
        )
        for _ in range(100):  # closing tasks end (bounded: 2 s)
            if (await Footprint.measure()).tasks == 0:
                break
        return results, before, await Footprint.measure()

    began = time.perf_counter()
    results, before, after = asyncio.run(run())
    kinds = Counter(f.kind for r in results for f in r.faults)
    print(
        f"recovery soak: {args.pairs} pairs ({args.concurrency or args.pairs} at a "
        f"time), {args.seconds:.0f} s each, seed {args.seed}, "
        f"{'fast' if args.fast else 'default'} timers, {settings}: "
        f"faults {dict(kinds)}, {time.perf_counter() - began:.0f} s wall"
    )
    print(
        f"bounds after the last fault: connected {bounds.connected:.1f} s, "
        f"closed {bounds.closed:.1f} s"
    )
    bad = []
    for r in results:
        bound = bounds.connected if r.expected == "connected" else bounds.closed
        good = _recovered_as_implied(r, bound)
        if not good:
            bad.append(r)
        outcomes = ", ".join(a.outcome for a in r.attempts) or "none"
        print(
            f"  {'ok ' if good else 'BAD'} pair {r.index:3}: {len(r.faults):2} faults, "
            f"expected {r.expected}, ended {r.final}/{r.answerer_final}, settled "
            f"{r.settled if r.settled is not None else '-'} s, attempts: {outcomes}"
        )
        if not good:
            for fault in r.faults:
                print(f"        {fault}")
            for line in [*r.invalid, *r.errors, r.gave_up or ""]:
                if line:
                    print(f"        ! {line}")
    finals = Counter(r.final for r in results)
    why = Counter(r.gave_up for r in results if r.gave_up)
    settled = [r.settled for r in results if r.final == "connected" and r.settled]
    print(
        f"{len(results) - len(bad)}/{len(results)} pairs as implied: {dict(finals)}; "
        f"gave up: {dict(why) or 'never'}; slowest back to connected "
        f"{max(settled, default=0.0):.2f} s; paths all valid: "
        f"{not any(r.invalid for r in results)}; errors: "
        f"{sum(len(r.errors) for r in results)}"
    )
    print(
        f"footprint: fds {before.fds} -> {after.fds}, tasks {before.tasks} -> "
        f"{after.tasks}; links all closed: {all(r.link_closed for r in results)}"
    )
    leaked = after.fds > before.fds + 3 or after.tasks > 0
    return 1 if bad or leaked else 0


if __name__ == "__main__":
    sys.exit(main())
