"""Time from the selected pair's local address going away to `connected` again, on
another interface, with and without the network monitor.

Each round makes a network namespace of its own with two veth pairs, ``wifi`` and
``cell`` (tests/support/netns.py), and runs tests/support/netchange_peers.py in it:
two rtcstate peers connect over wifi, `rtcstate.recover()` runs on the offerer, and
the script removes wifi's address (10.71.0.1). The two ways alternate round by round:

- ``monitor``: rtcstate as it is: the process's network monitor (rtnetlink) tells
  the offerer's ICE transport at once, and recover() restarts with no grace;
- ``liveness``: the monitor replaced by one that never looks (``--no-monitor``):
  liveness finds the silence (about 1 to 2 s), then recover()'s 0.5 s grace.

Each round prints the offerer's ``disconnected`` and ``connected`` times from the
removal; the table gives the median and the maximum. Needs root and iproute2.

    python benchmarks/detection/netchange.py              # 5 rounds each, ~2 minutes
    python benchmarks/detection/netchange.py --rounds 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # stamp
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.support

from stamp import stamp
from tests.support.netns import Netns, _ip, run_script


def _namespace(number: int) -> Netns:
    name = f"rtcstate-bench-{os.getpid()}-{number}"
    _ip("netns", "add", name)
    ns = Netns(name)
    ns.ip("link", "set", "lo", "up")
    for link in ("wifi", "cell"):
        ns.ip("link", "add", link, "type", "veth", "peer", "name", f"{link}-peer")
    ns.ip("address", "add", "10.71.0.1/24", "dev", "wifi")
    ns.ip("address", "add", "10.71.0.2/24", "dev", "wifi-peer")
    ns.ip("address", "add", "10.72.0.1/24", "dev", "cell")
    ns.ip("address", "add", "10.72.0.2/24", "dev", "cell-peer")
    for link in ("wifi", "wifi-peer", "cell", "cell-peer"):
        ns.ip("link", "set", link, "up")
    return ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("network namespaces need root")
    print(stamp())
    ways: dict[str, list[tuple[float, float]]] = {"monitor": [], "liveness": []}
    number = 0
    for round_ in range(args.rounds):
        for way, extra in (("monitor", []), ("liveness", ["--no-monitor"])):
            number += 1
            ns = _namespace(number)
            try:
                result = run_script(
                    ns, "tests.support.netchange_peers", *extra, timeout=90
                )
            finally:
                _ip("netns", "delete", ns.name)
            ways[way].append((result["disconnected"], result["connected"]))
            lost, back = result["disconnected"], result["connected"]
            print(
                f"round {round_ + 1} {way:9}: disconnected {lost:.3f} s,"
                f" connected {back:.3f} s ({result['after']})",
                flush=True,
            )
    print()
    print("| way | disconnected, median (max) | connected again, median (max) |")
    print("|---|---|---|")
    for way, times in ways.items():
        lost = [t[0] for t in times]
        back = [t[1] for t in times]
        print(
            f"| {way} | {statistics.median(lost):.3f} s ({max(lost):.3f}) "
            f"| {statistics.median(back):.3f} s ({max(back):.3f}) |"
        )


if __name__ == "__main__":
    main()
