"""A short run of tests.support.leaks.connect_close_cycles
(benchmarks/reliability/leaks.py runs it at length): connect, data, close, many
times; file descriptors, tasks and memory come back to their baseline."""

from __future__ import annotations

import pytest

from tests.support.leaks import connect_close_cycles

CYCLES = 20


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_connect_data_close_cycles_leave_nothing_behind() -> None:
    baseline, end, _ = await connect_close_cycles(CYCLES, warmup=3)
    assert end.opened_since(baseline) == set()
    assert end.tasks == baseline.tasks == 0
    # a leaked connection would hold hundreds of kB; what is left is aiortc's
    # certificate generation (about 130 B a cycle over 300 cycles)
    assert end.memory - baseline.memory < 2_000 * CYCLES
