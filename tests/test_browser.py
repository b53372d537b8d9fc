"""A real browser (Debian's chromium, headless, driven by Playwright) connects to
a Python rtcstate peer served by examples/browser/app.py, over loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import rtcstate
from tests.support.browser import (
    BROWSER_LIVENESS,
    CHROMIUM,
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

# the browser's own state, as its page shows it
BROWSER_STATE = "document.getElementById('browser-connection').textContent"


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[str, Any]]:
    app = example_app().make_app(BROWSER_LIVENESS)
    async with serve(app) as url:
        yield url, app


@pytest_asyncio.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with loopback_chromium(tmp_path / "profile") as context:
        yield context


async def connect(
    browser: Any, url: str, app: Any
) -> tuple[Any, rtcstate.PeerConnection]:
    page = await browser.new_page()
    await page.goto(url)
    python_peer = await connected_python_peer(page, app)
    # the page shows both sides live
    await page.wait_for_function(
        "document.getElementById('python-connection').textContent === 'connected'",
        timeout=5_000,
    )
    assert await page.evaluate(BROWSER_STATE) == "connected"
    return page, python_peer


@pytest.mark.timeout(90)
async def test_both_sides_connect(served: tuple[str, Any], browser: Any) -> None:
    url, app = served
    page, python_peer = await connect(browser, url, app)
    assert python_peer.iceConnectionState in ("connected", "completed")
    log = await page.inner_text("#log")
    assert "python connectionState connected" in log
    assert "browser connectionState connected" in log
    # an idle page answers rtcstate's keepalives: three disconnected timeouts pass
    await asyncio.sleep(3 * BROWSER_LIVENESS.disconnected_timeout)
    assert python_peer.connectionState == "connected"
    assert [str(c.current) for c in python_peer.state_history][-1] in (
        "connected",
        "completed",
    )


@pytest.mark.timeout(90)
async def test_closing_the_page_makes_python_disconnected_then_failed(
    served: tuple[str, Any], browser: Any
) -> None:
    url, app = served
    page, python_peer = await connect(browser, url, app)
    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    await page.close()
    await python_peer.wait_for_connection_state("disconnected", timeout=10)
    assert loop.time() - closed_at <= BROWSER_LIVENESS.disconnected_timeout + 1.5
    await python_peer.wait_for_connection_state("failed", timeout=10)
    sequence = [
        str(c.current)
        for c in python_peer.state_history
        if c.attribute == "connectionState"
    ]
    assert sequence == ["connecting", "connected", "disconnected", "failed"]


@pytest.mark.timeout(120)
async def test_python_close_makes_the_browser_disconnected_then_failed(
    served: tuple[str, Any], browser: Any
) -> None:
    url, app = served
    page, python_peer = await connect(browser, url, app)
    await python_peer.close()
    await page.wait_for_function(
        "pc.iceConnectionState === 'disconnected'", timeout=30_000
    )
    await page.wait_for_function("pc.connectionState === 'failed'", timeout=40_000)
    log = await page.inner_text("#log")
    order = [
        re.sub(r"^[\d.]+ s\s+", "", line)
        for line in log.splitlines()
        if "browser connectionState" in line
    ]
    assert order == [
        "browser connectionState connecting",
        "browser connectionState connected",
        "browser connectionState disconnected",
        "browser connectionState failed",
    ]
