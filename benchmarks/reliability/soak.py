"""Soak: many rtcstate pairs through FaultyLinks with random, seeded faults.

Each pair gets its own schedule of faults, drawn from the seed: cuts in both
directions and in one, loss, delay, and for some pairs a permanent cut. Then:

- every recorded state sequence must be a path of the state graph
  (``rtcstate.rules.is_valid_transition``);
- nothing may raise (handlers, tasks, the event loop's exception handler);
- each pair must end in the state its faults imply: ``failed`` after a
  permanent cut, ``connected`` otherwise.

The same seed gives the same schedules. The soak is ``rtcstate.testing.soak``;
a short version runs in the tests (tests/test_soak.py).

    python benchmarks/reliability/soak.py [--pairs 20] [--seconds 60] [--seed 1]
                                          [--fast]
    python benchmarks/reliability/soak.py --pairs 4 --seconds 10 --fast --seed 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import rtcstate
from rtcstate.testing import FAST_LIVENESS, soak


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
    args = parser.parse_args()
    config = FAST_LIVENESS if args.fast else rtcstate.LivenessConfig()
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


if __name__ == "__main__":
    sys.exit(main())
