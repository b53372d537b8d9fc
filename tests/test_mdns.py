"""Chromium's default mDNS host candidates (``<uuid>.local``) against a Python
rtcstate peer, inside a network namespace so that the multicast stays there.

tests/test_browser.py switches the names off (``--disable-features=
WebRtcHideLocalIpsWithMdns``); here chromium runs with its defaults, which is
what an application's users have. tests/support/mdns_browser.py, run inside the
namespace, serves examples/browser/app.py, lets a headless page connect, closes
the page and reports; this test checks that the offer carried only ``.local``
names, that the Python side connected, read ``disconnected`` then ``failed``
once the page was gone, and that every packet stayed inside the namespaces.

Whether aioice resolves the names is checked apart: with dnspython 2.9 it does
not (see ``test_aioice_resolves_the_browsers_mdns_names``), and the connection
then comes up through the peer-reflexive candidate that chromium's own checks
reveal, which is what the first test shows still works.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aioice.mdns import is_mdns_hostname

from tests.support.browser import BROWSER_LIVENESS, CHROMIUM
from tests.support.netns import NetnsError, netns, run_script, veth

pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytest.importorskip("aiohttp.web", reason="aiohttp is not installed")

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium here (Debian package: chromium)"
    ),
]

HOST = "198.18.73.1"  # chromium's and the Python peer's host (RFC 2544 range)
GATEWAY = "198.18.73.254"  # in a namespace of its own that forwards nothing
# the timers mdns_browser.py runs the Python peer with
DISCONNECTED_TIMEOUT = BROWSER_LIVENESS.disconnected_timeout
FAILED_TIMEOUT = BROWSER_LIVENESS.failed_timeout
# where packets may go: the host's subnet (the gateway's namespace is the
# only other thing on it) and link-local multicast
ALLOWED = [
    ipaddress.ip_network(n) for n in ("198.18.73.0/24", "224.0.0.0/24", "ff02::/16")
]


@pytest.fixture(scope="module")
def scenario() -> Iterator[dict[str, Any]]:
    """Runs the scenario once, in a fresh namespace; its JSON report."""
    with netns() as host, netns() as gateway:
        try:
            veth(host, "eth0", gateway, "eth0")
            host.ip("address", "add", f"{HOST}/24", "dev", "eth0")
            gateway.ip("address", "add", f"{GATEWAY}/24", "dev", "eth0")
            # a new namespace does not forward; said here, as it is the point
            gateway.sysctl("net.ipv4.ip_forward", "0")
            # Without a page's camera/microphone permission chromium does not
            # list interfaces: it offers the source address of its default
            # route alone, and with no default route no candidate at all.
            host.ip("route", "add", "default", "via", GATEWAY)
            # aioice's mDNS socket names no interface: the group's route does
            host.ip("route", "add", "224.0.0.0/4", "dev", "eth0")
        except NetnsError as exc:
            pytest.skip(f"cannot wire the namespaces: {exc}")
        result = run_script(
            host,
            "tests.support.mdns_browser",
            "--interface",
            "eth0",
            "--chromium",
            str(CHROMIUM),
            timeout=90,
        )
        print(json.dumps(result, indent=1))  # the figures, with -s
        yield result


def chromium_responses(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in result["mdns"] if m["response"]]


@pytest.mark.timeout(120)
def test_mdns_candidates_connect_then_closing_the_page_fails_the_python_side(
    scenario: dict[str, Any],
) -> None:
    # the offer named its host candidates by mDNS only: no raw address
    offered = scenario["offer_candidates"]
    assert offered, "chromium offered no candidate"
    for candidate in offered:
        if candidate["type"] == "host":
            assert is_mdns_hostname(candidate["address"]), candidate
    assert HOST not in json.dumps(offered)
    # mDNS really ran inside the namespace: aioice asked, chromium answered
    assert any(not m["response"] for m in scenario["mdns"]), scenario["mdns"]
    assert chromium_responses(scenario), scenario["mdns"]
    # connected over the host address, whichever way aioice learnt it
    assert scenario["selected"]["remote"] == HOST, scenario["selected"]
    assert scenario["connect_s"] < 20
    # the page went away: disconnected, then failed, on the Python side's timers
    assert scenario["sequence"] == ["connecting", "connected", "disconnected", "failed"]
    (disconnected_s, first), (failed_s, second) = scenario["after_close"]
    assert (first, second) == ("disconnected", "failed")
    assert disconnected_s <= DISCONNECTED_TIMEOUT + 1.5
    assert FAILED_TIMEOUT - 1.0 <= failed_s <= FAILED_TIMEOUT + 1.5
    # every packet on the host's interface went to the namespaces or their
    # link-local multicast groups
    assert scenario["frames"] > 0
    for destination in scenario["destinations"]:
        address = ipaddress.ip_address(destination)
        assert any(address in net for net in ALLOWED), destination


@pytest.mark.timeout(120)
def test_aioice_resolves_the_browsers_mdns_names(scenario: dict[str, Any]) -> None:
    """Chromium's answer carries an NSEC record whose next-domain name is
    compressed (RFC 6762 18.14 allows it in mDNS), which dnspython 2.9 refuses
    (RFC 3597's rule for unicast DNS): aioice's parser dropped the whole answer,
    A record included, and the browser's candidates connected only as
    peer-reflexive ones. rtcstate hands aioice such an answer without its
    additional section (`_shims.tolerate_mdns_answers`)."""
    selected = scenario["selected"]
    responses = chromium_responses(scenario)
    assert responses, "chromium sent no mDNS answer"
    assert is_mdns_hostname(selected["remote_host"]), (selected, responses)
    # resolved: the pair's remote is the browser's named host candidate
    assert selected["remote_type"] == "host", selected
    assert any("resolved to" in line for line in scenario["aioice_log"])
