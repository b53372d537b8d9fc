"""rtcstate over IPv6 host candidates, between two hosts made of network
namespaces, against aiortc, rtcstate and libwebrtc remotes.

aioice never gathers ``::1`` nor link-local addresses, so an IPv6 host path
needs real interfaces: hosts A and B (namespaces) each have a veth with a ULA
address (fd00:7263::1 and ::2) and an IPv4 address, and are joined through a
bridge in a third namespace, the "switch". tests/support/ipv6_peers.py, run
inside A, connects three pairs at once, each an ``rtcstate.PeerConnection`` in A
(default liveness timers) and a remote in B: plain aiortc, rtcstate, and
libwebrtc (PyPI ``wrtc``, a process of its own started in B:
tests/support/ipv6_wrtc_peer.py). Every SDP keeps only its IPv6 UDP candidates.

The row meets the bar of the TURN rows (tests/test_turn.py): every pair
connects on its IPv6 pair, which rtcstate's keepalives take by the hand-built
fast path (and the remote's keepalives are answered by hand too, not by
aioice); it stays ``connected`` through 30 s with messages both ways every
0.5 s; a silent outage of 4 s (the switch stops forwarding) reads
``disconnected`` within 2.5 s and ``connected`` within 1 s of the switch's
return, on every rtcstate side, and data flows again; an outage that lasts
reads ``failed`` 15 +- 1 s after the cut. Run with ``-s`` for the figures.

Two hosts, not one: between two addresses of one namespace the kernel delivers
locally, over ``lo``, so no link could be cut. No packet filter is needed
either (there is no nft or ip6tables command here, nor tc's netem or
classifiers in this kernel): a bridge that is down drops what reaches it,
silently, both ways, and neither host's link changes state. Nothing leaves the
three namespaces.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import rtcstate
from tests.support.netns import Netns, NetnsError, netns, run_script, veth
from tests.support.targets import (
    CONNECTED_WITHIN,
    DISCONNECTED_WITHIN,
    FAILED_AT,
    FAILED_TOLERANCE,
    IDLE,
    lasting_outage_problems,
    outage_problems,
)

ADDRESSES = {"a": "fd00:7263::1", "b": "fd00:7263::2"}
IPV4 = {"a": "198.18.72.1", "b": "198.18.72.2"}  # RFC 2544 test range
HOSTS = {"local": "a", "remote": "b"}
REMOTES = ("aiortc", "rtcstate", "libwebrtc")
CONNECT_WITHIN = 10.0
# one a keepalive_interval through the idle, give or take the ends
KEEPALIVES_MIN = int(IDLE / rtcstate.LivenessConfig().keepalive_interval) - 2
#: connectionState of every rtcstate side through the whole run
RTCSTATE_STATES = [
    "connecting",
    "connected",
    "disconnected",
    "connected",
    "disconnected",
    "failed",
]
COLUMNS = (
    "connect",
    "local disc.",
    "local conn.",
    "local failed",
    "remote disc.",
    "remote conn.",
    "remote failed",
)


@dataclass
class Hosts:
    a: Netns
    b: Netns
    switch: Netns

    def bridge(self, state: str) -> list[str]:
        """The command that takes the switch's bridge ``up`` or ``down``."""
        return self.switch.command("ip", "link", "set", "br0", state)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    with netns() as a, netns() as b, netns() as switch:
        try:
            # the switch: a bridge with a port to each host; forward_delay 0 so
            # its ports forward as soon as it is up again (no STP here)
            switch.ip("link", "add", "br0", "type", "bridge", "forward_delay", "0")
            for host, name in ((a, "a"), (b, "b")):
                veth(host, "eth0", switch, f"port-{name}")
                switch.ip("link", "set", f"port-{name}", "master", "br0")
                # nodad: usable at once, no duplicate address detection wait
                host.ip(
                    "address", "add", f"{ADDRESSES[name]}/64", "dev", "eth0", "nodad"
                )
                host.ip("address", "add", f"{IPV4[name]}/24", "dev", "eth0")
            switch.ip("link", "set", "br0", "up")
        except NetnsError as exc:
            pytest.skip(f"cannot wire the namespaces: {exc}")
        yield Hosts(a, b, switch)


def run_peers(hosts: Hosts) -> dict[str, Any]:
    return run_script(
        hosts.a,
        "tests.support.ipv6_peers",
        "--remote-netns",
        hosts.b.name,
        "--wrtc",
        json.dumps(
            hosts.b.command(sys.executable, "-m", "tests.support.ipv6_wrtc_peer")
        ),
        "--cut",
        json.dumps(hosts.bridge("down")),
        "--restore",
        json.dumps(hosts.bridge("up")),
        timeout=90,
    )


def is_rtcstate(pair: dict[str, Any], label: str) -> bool:
    return label == "local" or pair["remote"] == "rtcstate"


def check(pair: dict[str, Any]) -> list[str]:
    """What is wrong with one pair's figures (nothing, when it meets the bar)."""
    problems: list[str] = list(pair.get("errors", []))
    sides = [label for label in HOSTS if label in pair.get("states", {})]
    ours = [label for label in sides if is_rtcstate(pair, label)]
    # both hosts offered IPv4 too, and the remote's SDP kept IPv6 UDP only
    offered = pair.get("candidates")
    if offered is None:
        return [*problems, "never negotiated"]
    for label, host in HOSTS.items():
        if not {IPV4[host], ADDRESSES[host]} <= set(offered[label]):
            problems.append(f"{label} offered {offered[label]}")
    if set(offered["remote_kept"]) != {ADDRESSES["b"]}:
        problems.append(f"the answer kept {offered['remote_kept']}")
    connect = pair.get("connect")
    if connect is None or connect > CONNECT_WITHIN:
        problems.append(f"connected after {connect} s")
    # the pair each side selected is the IPv6 one; on the rtcstate sides the
    # running monitor's keepalives (and answers) are built by hand on aioice's
    # own socket
    selected = pair.get("selected", {})
    for label in sides:
        info = selected.get(label)
        mine, other = HOSTS[label], "b" if label == "local" else "a"
        if (
            not isinstance(info, dict)
            or info["local"][0] != ADDRESSES[mine]
            or info["remote"][0] != ADDRESSES[other]
        ):
            problems.append(f"{label} selected {info}")
        elif is_rtcstate(pair, label) and not (info["fast"] and info["driver_fast"]):
            problems.append(f"{label}'s keepalives do not take the fast path: {info}")
    if "selected_after" in pair and pair["selected_after"] != selected:
        problems.append(f"after the outage, selected {pair['selected_after']}")
    idle = pair.get("idle")
    if idle is None:
        return [*problems, "did not idle"]
    for label, other in (("local", "remote"), ("remote", "local")):
        if idle["states"][label] != "connected":
            problems.append(f"{label} is {idle['states'][label]} after idling")
        # nothing but ICE connected -> completed after its own connected
        changes = [
            change
            for change in idle["changes_after_connected"][label]
            if "-> completed" not in change
        ]
        if changes or idle["changes_while_idle"][label]:
            problems.append(
                f"{label} changed after connected: {changes}, "
                f"while idle: {idle['changes_while_idle'][label]}"
            )
        if idle["received"][label] != idle["sent"][other] or idle["send_errors"][label]:
            problems.append(
                f"{label} received {idle['received'][label]} of "
                f"{idle['sent'][other]} ({idle['send_errors'][label]})"
            )
    for label in ours:
        # every keepalive of the other side was answered by the fast path:
        # aioice's request handler saw none of them
        if idle["keepalives_sent"][label] < KEEPALIVES_MIN:
            problems.append(f"{label} sent {idle['keepalives_sent'][label]} keepalives")
        if idle["aioice_answered"][label] != 0:
            problems.append(f"aioice answered {idle['aioice_answered'][label]} ")
    outage = pair.get("outage")
    if outage is None:
        return [*problems, "no outage"]
    for label in ours:
        gone, back = outage["disconnected"][label], outage["connected"][label]
        problems += [f"{label} {p}" for p in outage_problems(gone, back)]
    if pair.get("after") is not True:
        problems.append("no data after the outage")
    lasting = pair.get("lasting")
    if lasting is None:
        return [*problems, "no lasting outage"]
    for label in ours:
        gone, failed = lasting["disconnected"][label], lasting["failed"][label]
        problems += [f"{label} {p}" for p in lasting_outage_problems(gone, failed)]
        if pair["states"][label] != RTCSTATE_STATES:
            problems.append(f"{label} went {pair['states'][label]}")
    return problems


def figures(pair: dict[str, Any]) -> dict[str, float | None]:
    cells: dict[str, float | None] = {"connect": pair.get("connect")}
    for label in HOSTS:
        for column, phase, state in (
            ("disc.", "outage", "disconnected"),
            ("conn.", "outage", "connected"),
            ("failed", "lasting", "failed"),
        ):
            cells[f"{label} {column}"] = pair.get(phase, {}).get(state, {}).get(label)
    return cells


def report(result: dict[str, Any], checked: list[list[str]]) -> str:
    """A table of the figures (seconds) and problems, printed for ``-s``."""
    lines = [
        f"IPv6 host <-> host: idle {result.get('idle_s', 0):.1f} s, outage "
        f"{result.get('outage_s', 0):.2f} s, then for good (targets: "
        f"disconnected within {DISCONNECTED_WITHIN} s, connected within "
        f"{CONNECTED_WITHIN} s, failed at {FAILED_AT} +- {FAILED_TOLERANCE} s); "
        "disc. and conn. are of the short outage, failed of the lasting one",
        "from the offers' start: "
        + ", ".join(f"{k} {v:.3f} s" for k, v in result.get("timeline", {}).items()),
        f"{'pair':<30}" + "".join(f"{c:>14}" for c in COLUMNS),
    ]
    for pair, problems in zip(result.get("pairs", []), checked):
        cells = figures(pair)
        lines.append(
            f"{'ipv6 host vs ' + pair['remote']:<30}"
            + "".join(
                f"{'-' if cells[c] is None else f'{cells[c]:.3f}':>14}" for c in COLUMNS
            )
        )
        if pair["remote"] != "rtcstate":
            # the other implementation's own states, for the record
            for phase in ("outage", "lasting"):
                seen = pair.get(phase, {}).get("seen", {}).get("remote")
                lines.append(f"    {pair['remote']} during the {phase}: {seen}")
        lines.extend(f"    ! {problem}" for problem in problems)
    text = "\n".join(lines)
    print("\n" + text)
    return text


@pytest.mark.timeout(100)
def test_ipv6_pairs_connect_stay_up_and_read_outages(hosts: Hosts) -> None:
    result = run_peers(hosts)
    pairs = result["pairs"]
    assert [pair["remote"] for pair in pairs] == list(REMOTES)
    checked = [check(pair) for pair in pairs]
    text = report(result, checked)
    logged = result["logged"] + result["close_errors"] + result["libwebrtc"]["errors"]
    assert not any(checked) and not logged, (
        f"{text}\n{json.dumps(logged, indent=1)}\n{json.dumps(result, indent=1)}"
    )


def test_the_namespaces_reach_nothing_else(hosts: Hosts) -> None:
    # the rule these tests live by: host A's only routes are its own link's
    routes = hosts.a.ip("-6", "route", "show") + hosts.a.ip("-4", "route", "show")
    assert "default" not in routes, routes
    done = hosts.a.run("ip", "-6", "route", "get", "2001:db8::1", timeout=10)
    assert done.returncode != 0, done.stdout  # unreachable: no route out
