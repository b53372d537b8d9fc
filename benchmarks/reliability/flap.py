"""Long life: one rtcstate pair whose FaultyLink flaps many times.

Each flap cuts the link until the offerer reads ``disconnected``, then restores
it until it reads ``connected`` again. With short timers, this packs hours of a
flapping connection's life into minutes. The script prints, at checkpoints, the
size of ``state_history`` (bounded by ``history_size``), the asyncio tasks and
scheduled timers of the loop, and tracemalloc's traced memory, which must stay
flat.

    python benchmarks/reliability/flap.py [--flaps 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc

from aiortc import RTCConfiguration

import rtcstate
from rtcstate.testing import FaultyLink, negotiate

TIMERS = rtcstate.LivenessConfig(
    keepalive_interval=0.05,
    probe_after=0.08,
    probe_interval=0.01,
    disconnected_probe_interval=0.02,
    disconnected_timeout=0.15,
    failed_timeout=10,
)
HISTORY = 200


async def main(flaps: int) -> None:
    loop = asyncio.get_running_loop()
    tracemalloc.start()
    link = await FaultyLink().start()
    config = RTCConfiguration(iceServers=[])
    a = rtcstate.PeerConnection(config, liveness=TIMERS, history_size=HISTORY)
    b = rtcstate.PeerConnection(config, liveness=TIMERS, history_size=HISTORY)
    try:
        a.createDataChannel("flap")
        await negotiate(a, b, link=link)
        await a.wait_for_connection_state("connected", timeout=10)
        began = time.perf_counter()
        print("| flaps | history | tasks | live timers | traced memory |")
        print("|---|---|---|---|---|")
        for flap in range(1, flaps + 1):
            link.cut()
            await a.wait_for_connection_state("disconnected", timeout=10)
            link.restore()
            await a.wait_for_connection_state("connected", timeout=10)
            if flap in (1, 10, 50) or flap % 100 == 0:
                gc.collect()
                tasks = len(asyncio.all_tasks()) - 1
                # live ones: asyncio drops cancelled handles lazily
                scheduled = loop._scheduled  # type: ignore[attr-defined]
                timers = sum(1 for handle in scheduled if not handle.cancelled())
                memory = tracemalloc.get_traced_memory()[0]
                print(
                    f"| {flap} | {len(a.state_history)} | {tasks} | {timers} "
                    f"| {memory / 1e6:.2f} MB |",
                    flush=True,
                )
        print(f"\n{flaps} flaps in {time.perf_counter() - began:.0f} s")
    finally:
        await a.close()
        await b.close()
        link.close()
        tracemalloc.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--flaps", type=int, default=500, help="cuts and restores of the link"
    )
    args = parser.parse_args()
    asyncio.run(main(args.flaps))
