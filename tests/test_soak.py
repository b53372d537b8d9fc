"""A short soak (benchmarks/soak.py): pairs through FaultyLinks with random,
seeded faults; every path valid, nothing raised, every pair where its faults
lead."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import soak

pytestmark = pytest.mark.asyncio


async def test_schedules_are_reproducible_from_the_seed() -> None:
    import random

    first = soak.schedule(random.Random(9), 30, soak.FAST)
    again = soak.schedule(random.Random(9), 30, soak.FAST)
    other = soak.schedule(random.Random(10), 30, soak.FAST)
    assert [str(f) for f in first] == [str(f) for f in again]
    assert [str(f) for f in first] != [str(f) for f in other]
    limit = soak.FAST.failed_timeout - soak.FAST.keepalive_interval
    assert all(f.duration < limit for f in first if f.kind != "permanent")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", [3, 11])
async def test_short_soak(seed: int) -> None:
    results = await soak.soak(pairs=5, seconds=10, seed=seed, config=soak.FAST)
    assert sum(len(r.faults) for r in results) >= 20  # it did inject faults
    config = soak.FAST
    long_enough = config.disconnected_timeout + config.keepalive_interval + 0.1
    for result in results:
        assert result.invalid == [], result.invalid
        assert result.errors == [], result.errors
        assert result.final == result.expected, [str(f) for f in result.faults]
        if any(f.kind == "cut" and f.duration > long_enough for f in result.faults):
            assert any(c.current == "disconnected" for c in result.history)
