"""rtcstate's network monitor inside a network namespace of its own, watching the
changes this script makes there.

Run by tests/test_netmon.py, from the repository's root, as
``ip netns exec NS python -m tests.support.netmon_probe --mode netlink|polling``.
The namespace has a veth pair, ``wifi`` (10.71.0.1/24) and ``wifi-peer``, up. The
script subscribes (a subscriber that raises first, then one that records), then,
one step at a time, removes the address, adds another, sets the link down and up,
and waits at most 3 s for each step's change. It prints one JSON object: the mode,
each step's change as the monitor told it and how long it took to come, and the
mode after the last subscription ended; a failed step is reported in ``"error"``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
from typing import Any

from rtcstate._netlink import NetworkChange
from rtcstate._netmon import NetworkMonitor

STEPS = [
    (["address", "del", "10.71.0.1/24", "dev", "wifi"], "address-removed", "10.71.0.1"),
    (["address", "add", "10.71.0.2/24", "dev", "wifi"], "address-added", "10.71.0.2"),
    (["link", "set", "wifi", "down"], "link-down", None),
    (["link", "set", "wifi", "up"], "link-up", None),
]


async def probe(mode: str, result: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    monitor = NetworkMonitor(poll_interval=0.2, netlink=mode == "netlink")
    seen: list[NetworkChange] = []
    arrived = asyncio.Event()

    def raising(change: NetworkChange) -> None:
        raise RuntimeError("a subscriber that raises")

    def record(change: NetworkChange) -> None:
        seen.append(change)
        arrived.set()

    ends = [monitor.subscribe(raising), monitor.subscribe(record)]
    result["mode"] = monitor.mode
    result["steps"] = []
    for args, kind, address in STEPS:
        if mode == "polling" and kind.startswith("link"):
            continue  # a poll of the address list sees no link state
        seen.clear()
        arrived.clear()
        began = loop.time()
        ip = await asyncio.create_subprocess_exec("ip", *args)
        assert await asyncio.wait_for(ip.wait(), 10) == 0, args
        deadline = began + 3.0
        match = None
        while match is None and loop.time() < deadline:  # bounded: 3 s
            try:
                await asyncio.wait_for(arrived.wait(), deadline - loop.time())
            except TimeoutError:
                break
            arrived.clear()
            match = next(
                (c for c in seen if c.kind == kind and c.address == address), None
            )
        result["steps"].append(
            {
                "step": " ".join(args),
                "change": None if match is None else str(match),
                "interface": None if match is None else match.interface,
                "seconds": round(loop.time() - began, 3),
                "all": [str(c) for c in seen],
            }
        )
    for end in ends:
        end()
    ends[0]()  # again: nothing
    result["mode_after"] = monitor.mode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["netlink", "polling"], required=True)
    args = parser.parse_args()
    result: dict[str, Any] = {}
    try:
        asyncio.run(probe(args.mode, result))
    except Exception:
        result["error"] = traceback.format_exc()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
