"""rtcstate over IPv6 host candidates, between two hosts made of network namespaces.

aioice never gathers ``::1`` nor link-local addresses, so an IPv6 host path
needs real interfaces: hosts A and B (namespaces) each have a veth with a ULA
address (fd00:7263::1 and ::2) and an IPv4 address, and are joined through a
bridge in a third namespace, the "switch". tests/ipv6_peers.py, run inside A,
connects two ``rtcstate.PeerConnection`` peers (default liveness timers) whose
SDPs keep only IPv6 candidates, and this test checks what it measured: the
selected pair is IPv6 and takes the hand-built keepalive path, data flows both
ways, an idle connection stays ``connected`` on keepalives alone, a silent outage
(the switch stops forwarding) reads ``disconnected`` within 2.5 s and
``connected`` within 1 s of the switch's return.

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
from pathlib import Path
from typing import Any

import pytest

from netns import Netns, NetnsError, netns, veth

pytestmark = pytest.mark.network

SCRIPT = Path(__file__).with_name("ipv6_peers.py")
ADDRESSES = {"a": "fd00:7263::1", "b": "fd00:7263::2"}
IPV4 = {"a": "198.18.72.1", "b": "198.18.72.2"}  # RFC 2544 test range
DISCONNECTED_WITHIN = 2.5  # of the cut, default timers
CONNECTED_WITHIN = 1.0  # of the restore


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
    done = hosts.a.run(
        sys.executable,
        str(SCRIPT),
        "--remote-netns",
        hosts.b.name,
        "--cut",
        json.dumps(hosts.bridge("down")),
        "--restore",
        json.dumps(hosts.bridge("up")),
        timeout=50,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (
        f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    print(json.dumps(result, indent=1))  # the figures, with -s
    assert "error" not in result, result["error"] + "\n" + done.stderr
    return result


@pytest.mark.timeout(60)
def test_ipv6_pair_connects_stays_up_and_reads_an_outage(hosts: Hosts) -> None:
    result = run_peers(hosts)
    # both hosts offered IPv4 too, and the SDPs kept IPv6 only
    for name in ("a", "b"):
        assert result["candidates"][name], result["candidates"]
        assert IPV4[name] in result["candidates"][name]
        assert ADDRESSES[name] in result["candidates"][name]
    # the pair aioice selected, on both sides, is the IPv6 one
    for name, other in (("a", "b"), ("b", "a")):
        pair = result["pairs"][name]
        assert pair["local"][0] == ADDRESSES[name], pair
        assert pair["remote"][0] == ADDRESSES[other], pair
        # keepalives and answers built by hand on aioice's own socket
        assert pair["fast"] is True and pair["driver_fast"] is True, pair
    assert result["connect_s"] < 10
    # idle longer than disconnected_timeout: keepalives alone kept it up, and
    # every keepalive of the other side was answered by the fast path (aioice's
    # request handler saw none of them)
    idle = result["idle"]
    assert idle["states"] == {"a": "connected", "b": "connected"}, idle
    assert min(idle["keepalives_sent"].values()) >= 1, idle
    assert idle["aioice_answered"] == {"a": 0, "b": 0}, idle
    # the outage, both sides
    for name in ("a", "b"):
        assert result["disconnected_after_cut_s"][name] <= DISCONNECTED_WITHIN
        assert result["connected_after_restore_s"][name] <= CONNECTED_WITHIN
        assert result["states"][name] == [
            "connecting",
            "connected",
            "disconnected",
            "connected",
        ]
    # data again after the return, on the same IPv6 pair
    assert result["received"] == {"a": 15, "b": 10}
    assert result["pairs_after"] == result["pairs"]


def test_the_namespaces_reach_nothing_else(hosts: Hosts) -> None:
    # the rule these tests live by: host A's only routes are its own link's
    routes = hosts.a.ip("-6", "route", "show") + hosts.a.ip("-4", "route", "show")
    assert "default" not in routes, routes
    done = hosts.a.run("ip", "-6", "route", "get", "2001:db8::1", timeout=10)
    assert done.returncode != 0, done.stdout  # unreachable: no route out
