"""A short soak (rtcstate.testing.soak, which benchmarks/reliability/soak.py runs
at length): pairs through FaultyLinks with random, seeded faults; every path
valid, nothing raised, every pair where its faults lead."""

from __future__ import annotations

import random

import pytest

from rtcstate.testing import FAST_LIVENESS, fault_schedule, soak

pytestmark = pytest.mark.asyncio


async def test_schedules_are_reproducible_from_the_seed() -> None:
    first = fault_schedule(random.Random(9), 30, FAST_LIVENESS)
    again = fault_schedule(random.Random(9), 30, FAST_LIVENESS)
    other = fault_schedule(random.Random(10), 30, FAST_LIVENESS)
    assert [str(f) for f in first] == [str(f) for f in again]
    assert [str(f) for f in first] != [str(f) for f in other]
    limit = FAST_LIVENESS.failed_timeout - FAST_LIVENESS.keepalive_interval
    assert all(f.duration < limit for f in first if f.kind != "permanent")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", [3, 11])
async def test_short_soak(seed: int) -> None:
    results = await soak(pairs=5, seconds=10, seed=seed, liveness=FAST_LIVENESS)
    assert sum(len(r.faults) for r in results) >= 20  # it did inject faults
    config = FAST_LIVENESS
    long_enough = config.disconnected_timeout + config.keepalive_interval + 0.1
    for result in results:
        assert result.invalid == [], result.invalid
        assert result.errors == [], result.errors
        assert result.final == result.expected, [str(f) for f in result.faults]
        if any(f.kind == "cut" and f.duration > long_enough for f in result.faults):
            assert any(c.current == "disconnected" for c in result.history)
