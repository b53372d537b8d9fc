"""ICE restart between a real browser (headless chromium) and a Python rtcstate
peer served by examples/browser/app.py: the path moves for good (a relay's
addresses go dead, new ones work), then one side restarts ICE and the two
renegotiate over the example's WebSocket. Both come back to ``connected`` and the
data channel delivers everything, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import rtcstate
from tests.support.browser import (
    BROWSER_LIVENESS,
    CHROMIUM,
    BrowserLink,
    connected_python_peer,
    example_app,
    loopback_chromium,
    serve,
)

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed"
)
aiohttp_web = pytest.importorskip("aiohttp.web", reason="aiohttp is not installed")

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium here (Debian package: chromium)"
    ),
]

# The page records its own states and the channel's echoes from here on.
RECORD = """() => {
  window.seen = [];
  const t0 = performance.now();
  const note = (attribute, value) =>
    seen.push([attribute, value, Math.round(performance.now() - t0)]);
  pc.addEventListener("iceconnectionstatechange",
    () => note("ice", pc.iceConnectionState));
  pc.addEventListener("connectionstatechange",
    () => note("connection", pc.connectionState));
  window.mark = (what) => note("mark", what);
  window.echoes = [];
  channel.addEventListener("message", (event) => {
    if (event.data.startsWith("python got: n")) echoes.push(event.data.slice(12));
  });
  window.sendNumbered = (from, to) => {
    for (let i = from; i < to; i++) channel.send(`n${i}`);
  };
}"""


@pytest_asyncio.fixture
async def link() -> AsyncIterator[BrowserLink]:
    async with BrowserLink() as relay:
        yield relay


@pytest_asyncio.fixture
async def served(link: BrowserLink) -> AsyncIterator[tuple[str, Any]]:
    """The example's app, its media path through `link`: the page is the link's
    offerer, the Python peer its answerer, whoever offers later."""
    app = example_app().make_app(
        BROWSER_LIVENESS,
        from_page=link.offer_to_answerer,
        to_page=link.answer_to_offerer,
    )
    async with serve(app) as url:
        yield url, app


@pytest_asyncio.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with loopback_chromium(tmp_path / "profile") as context:
        yield context


async def until(check: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def python_sequence(
    pc: rtcstate.PeerConnection, attribute: str, since: float
) -> list[str]:
    return [
        str(c.current)
        for c in pc.state_history
        if c.attribute == attribute and c.time >= since
    ]


async def browser_sequence(page: Any, attribute: str) -> list[str]:
    seen = await page.evaluate("seen")
    return [value for kind, value, _ in seen if kind == attribute]


async def echoes(page: Any) -> list[str]:
    return list(await page.evaluate("echoes"))


async def restart_after_move(
    served: tuple[str, Any],
    browser: Any,
    link: BrowserLink,
    *,
    restarter: str,
    wait_for_browser: str,
    via_button: bool = False,
) -> dict[str, Any]:
    """Connect, move the path, wait until chromium reads `wait_for_browser`,
    restart ICE from `restarter` ("browser" or "python"; with `via_button`, by
    the example page's button, else by calling restartIce()); numbered messages go
    before the move, during the outage, during the restart and after it."""
    url, app = served
    page = await browser.new_page()
    await page.goto(url)
    python_peer = await connected_python_peer(page, app)
    await page.evaluate(RECORD)
    loop = asyncio.get_running_loop()

    await page.evaluate("sendNumbered(0, 5)")
    await until_echoes(page, 5)

    moved_at = loop.time()
    await link.move()
    await page.evaluate("mark('moved'); sendNumbered(5, 10)")
    await python_peer.wait_for_connection_state("disconnected", timeout=10)
    await page.wait_for_function(
        f"pc.iceConnectionState === '{wait_for_browser}'", timeout=60_000
    )
    python_before = python_peer.connectionState
    restart_at = loop.time()
    await page.evaluate("mark('restart')")
    if via_button:  # the example page's buttons
        await page.click(f"#restart-{restarter}")
    elif restarter == "browser":
        await page.evaluate("pc.restartIce()")
    else:
        python_peer.restartIce()
    await page.evaluate("sendNumbered(10, 15)")

    cause = (
        "ICE restart (remote offer)"
        if restarter == "browser"
        else "ICE restart (restartIce())"
    )
    await until(
        lambda: any(
            c.detail == cause
            for c in python_peer.transport_history
            if c.time >= restart_at
        ),
        10,
        cause,
    )
    assert (
        await python_peer.wait_for_connection_state("connected", timeout=20)
        == "connected"
    )
    await page.wait_for_function("pc.connectionState === 'connected'", timeout=20_000)
    connected_at = loop.time()
    await page.evaluate("mark('both connected'); sendNumbered(15, 20)")
    await until_echoes(page, 20, timeout=40)
    assert await echoes(page) == [f"n{i}" for i in range(20)]
    assert await page.evaluate("channel.readyState") == "open"
    # still connected a while later, over the new path
    await asyncio.sleep(2 * BROWSER_LIVENESS.disconnected_timeout)
    assert python_peer.connectionState == "connected"
    assert await page.evaluate("pc.connectionState") == "connected"
    return {
        "page": page,
        "python": python_peer,
        "python_before": python_before,
        "python_connection": python_sequence(python_peer, "connectionState", moved_at),
        "python_ice": python_sequence(python_peer, "iceConnectionState", moved_at),
        "python_causes": [
            f"{c.current}: {c.detail}"
            for c in python_peer.transport_history
            if c.time >= moved_at and c.kind == "ice"
        ],
        "browser_ice": await browser_sequence(page, "ice"),
        "browser_connection": await browser_sequence(page, "connection"),
        "browser_log": await page.evaluate("seen"),
        "restart_to_connected": connected_at - restart_at,
    }


async def until_echoes(page: Any, count: int, timeout: float = 10) -> None:
    await page.wait_for_function(f"echoes.length >= {count}", timeout=timeout * 1000)


# What chromium may read on its way back, after `disconnected` (or from
# `connected`, when it had not noticed the move yet).
BROWSER_ICE_ON_THE_WAY = {"disconnected", "checking", "connected", "completed"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("restarter", ["browser", "python"])
@pytest.mark.parametrize(
    "wait_for_browser",
    [
        # chromium reads disconnected (about 5 s after the move), by when the
        # Python side has failed (3 s): a restart from failed
        "disconnected",
        # at once, the Python side disconnected (1 s) and chromium still
        # connected: a restart from disconnected (by the page's buttons)
        "connected",
    ],
)
async def test_ice_restart_after_a_path_move(
    served: tuple[str, Any],
    browser: Any,
    link: BrowserLink,
    restarter: str,
    wait_for_browser: str,
) -> None:
    result = await restart_after_move(
        served,
        browser,
        link,
        restarter=restarter,
        wait_for_browser=wait_for_browser,
        via_button=wait_for_browser == "connected",
    )
    print(f"\n{restarter} restarts, chromium {wait_for_browser} at the restart")
    for key, value in result.items():
        if key not in ("page", "python"):
            print(f"  {key}: {value}")
    cause = (
        "ICE restart (remote offer)"
        if restarter == "browser"
        else "ICE restart (restartIce())"
    )
    # the Python side: webrtc-pc's rule, a restart moves disconnected or failed
    # to checking, then the new pair connects; nothing after it
    before = result["python_before"]
    if wait_for_browser == "disconnected":
        assert before == "failed"
        assert result["python_ice"] == [
            "disconnected",
            "failed",
            "checking",
            "connected",
        ]
        assert result["python_connection"] == [
            "disconnected",
            "failed",
            "connecting",
            "connected",
        ]
    else:
        assert before in ("disconnected", "failed")  # failed if chromium is slow
        assert result["python_ice"][-2:] == ["checking", "connected"]
        assert result["python_connection"][-1] == "connected"
    causes = result["python_causes"]
    assert causes[-2] == f"checking: {cause}"
    assert causes[-1].startswith("connected: checks succeeded on new pair host ")
    # chromium: back to connected, never failed
    browser_ice = result["browser_ice"]
    assert set(browser_ice) <= BROWSER_ICE_ON_THE_WAY
    assert (browser_ice or ["connected"])[-1] in ("connected", "completed")
    assert (result["browser_connection"] or ["connected"])[-1] == "connected"
    assert "failed" not in result["browser_connection"]
    if wait_for_browser == "disconnected":
        assert browser_ice[0] == "disconnected"
    else:
        # restarted before it noticed the move: it stays connected throughout
        assert browser_ice == result["browser_connection"] == []
    # the restart's round trip on loopback: offer, answer, checks
    assert result["restart_to_connected"] < 5
