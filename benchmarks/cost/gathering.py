"""ICE gathering in a set-up: time to connected with a STUN server that never
answers, and what rtcstate's own gathering costs against aiortc's.

Everything runs in one process, the rows alternating (round-robin inside the
process). Two sections, each printed as a Markdown table under a line that says
when, with what versions and on what machine it ran:

1. A silent STUN server (a UDP socket on 127.0.0.1 that never answers) is in
   `iceServers`. Time from `createOffer()` on the offerer to both sides reading
   connectionState "connected", and how long each side's `setLocalDescription`
   took, for plain aiortc, rtcstate without trickle (default `gather_timeout`),
   rtcstate with `trickle=True`, libwebrtc (PyPI `wrtc`) trickling, and a
   trickling rtcstate peer offering to headless chromium (Playwright; the page's
   time to connected included, its own CPU not). Trickled
   candidates are signalled to the other side's `addIceCandidate` once it has a
   remote description (held until then), the end (`None`) included. A run that
   is not connected within --timeout counts as failed, out of the figures.
   libwebrtc gathers no loopback address unless `webrtc.allow_loopback()` is
   called; it is not here, so every row connects over this machine's other
   addresses (aiortc gathers no loopback address either).
3. Idle: pairs connected without a server, left idle; process CPU per
   connection-second, rtcstate's gathering against aiortc's in the same rtcstate
   peer, windows alternating.
2. No server at all (`iceServers=[]`), no trickle: the same time and the process
   CPU time (`time.process_time()`) over it, per pair, for rtcstate as it is
   (its own gathering), rtcstate with its gathering switched off so that aiortc's
   `RTCIceGatherer.gather()` runs (checked), and plain aiortc.

Every packet goes to 127.0.0.1 or this machine's own addresses.

    python benchmarks/cost/gathering.py [--runs 5] [--rounds 30] [--timeout 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

import rtcstate
from rtcstate.testing import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# headless chromium as the tests run it (tests/support/browser.py), from the root
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from stamp import stamp
from tests.support.browser import CHROMIUM as CHROMIUM_PATH
from tests.support.browser import (
    CHROMIUM_ARGS,
    candidate_from_page,
    candidate_to_page,
)

try:
    import webrtc
except ImportError as exc:  # the libwebrtc row is skipped
    webrtc = None
    WEBRTC_MISSING = f"{type(exc).__name__}: {exc}"

LIBWEBRTC = "libwebrtc (wrtc), trickle"
CHROMIUM = "rtcstate trickle=True -> chromium"
# the page's peer (the silent server listed too): its candidates go to Python
# through window.toPython; it answers what Python offers
PAGE = """(url) => {
  window.pc = new RTCPeerConnection({iceServers: [{urls: url}]});
  pc.onicecandidate = (e) => window.toPython(
    e.candidate && {candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
                    sdpMLineIndex: e.candidate.sdpMLineIndex});
  window.pcConnected = new Promise((resolve) => {
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') resolve();
    };
  });
}"""
ANSWER = """async (offer) => {
  await pc.setRemoteDescription(offer);
  const answer = await pc.createAnswer();
  const began = performance.now();
  await pc.setLocalDescription(answer);
  return {type: 'answer', sdp: pc.localDescription.sdp,
          sld: (performance.now() - began) / 1000};
}"""


@dataclass
class Sample:
    """One set-up: seconds from createOffer to both connected, each side's
    setLocalDescription, process CPU seconds over the set-up, and datagrams the
    silent server got meanwhile."""

    total: float
    offer_sld: float
    answer_sld: float
    cpu: float
    requests: int


class SilentServer(asyncio.DatagramProtocol):
    """A STUN server that never answers: it only counts what it is sent."""

    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received += 1


class Relay:
    """The signalling of one direction's trickled candidates: held until the
    receiving side has a remote description (`open()`), then handed to its
    `addIceCandidate` one at a time, in order."""

    def __init__(self, add: Callable[[Any], Awaitable[None]]) -> None:
        self._add = add
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def send(self, candidate: Any) -> None:
        self._queue.put_nowait(candidate)

    def open(self) -> None:
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        while True:  # bounded: ends with the run (close())
            await self._add(await self._queue.get())

    def check(self) -> None:
        """Raise what `addIceCandidate` raised, if it did."""
        if self._task is not None and self._task.done():
            self._task.result()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def both_connected(a: Any, b: Any, state: Callable[[Any], str], arg: bool) -> Any:
    """An event set once `a` and `b` both read "connected"; `arg`: the
    handlers take the event (libwebrtc's) rather than nothing (aiortc's)."""
    done = asyncio.Event()

    def check() -> None:
        if state(a) == "connected" and state(b) == "connected":
            done.set()

    for pc in (a, b):
        pc.on("connectionstatechange", (lambda _event: check()) if arg else check)
    return done


def gatherer_replaced(pc: RTCPeerConnection) -> bool:
    """Whether the data channel's ICE gatherer has a `gather` of its own (rtcstate's)
    rather than aiortc's `RTCIceGatherer.gather`."""
    assert pc.sctp is not None
    return "gather" in vars(pc.sctp.transport.transport.iceGatherer)


async def aiortc_setup(
    make: Callable[[], RTCPeerConnection],
    trickle: bool,
    server: SilentServer | None,
    replaced: bool | None = None,
) -> Sample:
    """One set-up between two aiortc (or rtcstate) peers; with `replaced`, check
    whose gathering ran (see `gatherer_replaced`)."""
    loop = asyncio.get_running_loop()
    a, b = make(), make()
    to_b, to_a = Relay(b.addIceCandidate), Relay(a.addIceCandidate)
    try:
        connected = both_connected(a, b, lambda pc: pc.connectionState, arg=False)
        if trickle:
            a.on("icecandidate", to_b.send)
            b.on("icecandidate", to_a.send)
        a.createDataChannel("x")
        requests = server.received if server else 0
        cpu, start = time.process_time(), loop.time()
        offer = await a.createOffer()
        mark = loop.time()
        await a.setLocalDescription(offer)
        offer_sld = loop.time() - mark
        await b.setRemoteDescription(a.localDescription)
        if trickle:
            to_b.open()
        answer = await b.createAnswer()
        mark = loop.time()
        await b.setLocalDescription(answer)
        answer_sld = loop.time() - mark
        await a.setRemoteDescription(b.localDescription)
        if trickle:
            to_a.open()
        await connected.wait()
        total, cpu = loop.time() - start, time.process_time() - cpu
        to_a.check()
        to_b.check()
        if replaced is not None:
            for pc in (a, b):
                if gatherer_replaced(pc) != replaced:
                    raise RuntimeError(f"gatherer replaced is not {replaced}")
        requests = (server.received if server else 0) - requests
        return Sample(total, offer_sld, answer_sld, cpu, requests)
    finally:
        await to_a.close()
        await to_b.close()
        await a.close()
        await b.close()


async def libwebrtc_setup(stun_url: str, server: SilentServer) -> Sample:
    """One set-up between two trickling libwebrtc peers."""
    assert webrtc is not None
    loop = asyncio.get_running_loop()
    config = webrtc.RTCConfiguration(ice_servers=[webrtc.RTCIceServer(stun_url)])
    a, b = webrtc.RTCPeerConnection(config), webrtc.RTCPeerConnection(config)
    to_b, to_a = Relay(b.add_ice_candidate), Relay(a.add_ice_candidate)
    try:
        connected = both_connected(
            a, b, lambda pc: str(pc.connection_state.value), arg=True
        )
        a.on("icecandidate", lambda event: to_b.send(event.candidate))
        b.on("icecandidate", lambda event: to_a.send(event.candidate))
        a.create_data_channel("x")
        requests = server.received
        cpu, start = time.process_time(), loop.time()
        offer = await a.create_offer()
        mark = loop.time()
        await a.set_local_description(offer)
        offer_sld = loop.time() - mark
        await b.set_remote_description(a.local_description)
        to_b.open()
        answer = await b.create_answer()
        mark = loop.time()
        await b.set_local_description(answer)
        answer_sld = loop.time() - mark
        await a.set_remote_description(b.local_description)
        to_a.open()
        await connected.wait()
        total, cpu = loop.time() - start, time.process_time() - cpu
        to_a.check()
        to_b.check()
        return Sample(total, offer_sld, answer_sld, cpu, server.received - requests)
    finally:
        await to_a.close()
        await to_b.close()
        a.close()
        b.close()


async def chromium_setup(context: Any, url: str, server: SilentServer) -> Sample:
    """One set-up: a trickling rtcstate peer offers, a chromium page answers;
    Python's candidates go to the page's addIceCandidate and the page's to
    Python's. CPU is this process's only (not chromium's)."""
    from aiortc import RTCSessionDescription

    loop = asyncio.get_running_loop()
    page = await context.new_page()
    python = rtcstate.PeerConnection(
        RTCConfiguration(iceServers=[RTCIceServer(url)]), trickle=True
    )

    async def to_page(candidate: Any) -> None:
        await page.evaluate(
            "(c) => pc.addIceCandidate(c)", candidate_to_page(candidate)
        )

    to_python, to_chromium = Relay(python.addIceCandidate), Relay(to_page)
    try:
        await page.expose_function(
            "toPython", lambda init: to_python.send(candidate_from_page(init))
        )
        await page.evaluate(PAGE, url)
        python.on("icecandidate", to_chromium.send)
        python.createDataChannel("x")
        requests = server.received
        cpu, start = time.process_time(), loop.time()
        offer = await python.createOffer()
        mark = loop.time()
        await python.setLocalDescription(offer)
        offer_sld = loop.time() - mark
        answer = await page.evaluate(
            ANSWER, {"type": "offer", "sdp": python.localDescription.sdp}
        )
        to_chromium.open()
        await python.setRemoteDescription(
            RTCSessionDescription(answer["sdp"], answer["type"])
        )
        to_python.open()
        await python.wait_for_connection_state("connected")
        await page.evaluate("pcConnected")
        total, cpu = loop.time() - start, time.process_time() - cpu
        to_python.check()
        to_chromium.check()
        return Sample(total, offer_sld, answer["sld"], cpu, server.received - requests)
    finally:
        await to_python.close()
        await to_chromium.close()
        await python.close()
        await page.close()


@contextlib.asynccontextmanager
async def chromium_context() -> Any:
    """Headless chromium through Playwright, or `None` (and why) without it."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        yield None, f"no playwright ({exc})"
        return
    if CHROMIUM_PATH is None:
        yield None, "no chromium (Debian package: chromium)"
        return
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser, None
        finally:
            await browser.close()


async def timed(setup: Awaitable[Sample], timeout: float) -> Sample | str:
    """The sample, or why there is none."""
    try:
        return await asyncio.wait_for(setup, timeout)
    except TimeoutError:
        return f"not connected within {timeout:g} s"
    except Exception as exc:  # reported, the other runs go on
        return f"{type(exc).__name__}: {exc}"


def spread(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    if not values:
        return "-"
    median = statistics.median(values) * scale
    low, high = min(values) * scale, max(values) * scale
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


async def silent_section(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        SilentServer, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    url = f"stun:127.0.0.1:{port}"
    config = RTCConfiguration(iceServers=[RTCIceServer(url)])
    rows: dict[str, Callable[[], Awaitable[Sample]]] = {
        "aiortc": lambda: aiortc_setup(
            lambda: RTCPeerConnection(config), False, server
        ),
        "rtcstate": lambda: aiortc_setup(
            lambda: rtcstate.PeerConnection(config), False, server
        ),
        "rtcstate, trickle=True": lambda: aiortc_setup(
            lambda: rtcstate.PeerConnection(config, trickle=True), True, server
        ),
    }
    if webrtc is not None:
        rows[LIBWEBRTC] = lambda: libwebrtc_setup(url, server)
    browsing = chromium_context()
    browser, no_chromium = await browsing.__aenter__()
    if browser is not None:
        rows[CHROMIUM] = lambda: chromium_setup(browser, url, server)
    samples: dict[str, list[Sample]] = {name: [] for name in rows}
    failures: dict[str, list[str]] = {name: [] for name in rows}
    try:
        for run in range(args.runs):
            names = list(rows)
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                got = await timed(rows[name](), args.timeout)
                if isinstance(got, Sample):
                    samples[name].append(got)
                    print(
                        f"run {run + 1}: {name:26} {got.total:7.3f} s "
                        f"(setLocalDescription {got.offer_sld:.3f} / "
                        f"{got.answer_sld:.3f} s, {got.requests} requests)",
                        flush=True,
                    )
                else:
                    failures[name].append(got)
                    print(f"run {run + 1}: {name:26} failed: {got}", flush=True)
    finally:
        transport.close()
        await browsing.__aexit__(None, None, None)

    print(f"\n{stamp()}")
    print(
        f"## A silent STUN server in iceServers: createOffer -> both connected\n\n"
        f"{args.runs} runs of each row, round-robin in one process; seconds, "
        f"median (min-max); setLocalDescription of the offerer / the answerer; "
        f"requests: datagrams the silent server got during a run, median\n"
    )
    print(
        "| row | to connected (s) | min | max | setLocalDescription offer (s) "
        "| setLocalDescription answer (s) | requests | failed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, got in samples.items():
        totals = [s.total for s in got]
        cells = (
            [
                f"{statistics.median(totals):.3f}",
                f"{min(totals):.3f}",
                f"{max(totals):.3f}",
                spread([s.offer_sld for s in got]),
                spread([s.answer_sld for s in got]),
                f"{statistics.median(s.requests for s in got):g}",
            ]
            if got
            else ["-"] * 6
        )
        print(f"| {name} | " + " | ".join(cells) + f" | {len(failures[name])} |")
    if webrtc is None:
        print(f"| {LIBWEBRTC} | skipped: `import webrtc` failed ({WEBRTC_MISSING}) |")
    if no_chromium is not None:
        print(f"| {CHROMIUM} | skipped: {no_chromium} |")
    for name, reasons in failures.items():
        for reason in dict.fromkeys(reasons):
            print(f"\n{name} failed {reasons.count(reason)}x: {reason}")


def aiortc_gathers(config: RTCConfiguration) -> rtcstate.PeerConnection:
    """An rtcstate peer whose own gathering is switched off: aiortc's runs."""
    pc = rtcstate.PeerConnection(config)
    pc._gathering.install = lambda: None  # type: ignore[method-assign]
    return pc


AB_KINDS: dict[str, tuple[Callable[[RTCConfiguration], RTCPeerConnection], bool]] = {
    # name: (factory, whether the gatherers' gather() is replaced)
    "a: rtcstate (its own gathering)": (rtcstate.PeerConnection, True),
    "b: rtcstate, aiortc gathers": (aiortc_gathers, False),
    "c: aiortc": (RTCPeerConnection, False),
}


async def check_ab_gathering(config: RTCConfiguration, timeout: float) -> None:
    """Once, before timing: aioice's `gather_candidates()` (what aiortc's
    `RTCIceGatherer.gather()` awaits) runs for (b) and (c), not for (a)."""
    original = aioice.ice.Connection.gather_candidates
    calls = 0

    async def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        await original(self, *args, **kwargs)

    aioice.ice.Connection.gather_candidates = counted  # type: ignore[method-assign]
    try:
        for name, (factory, replaced) in AB_KINDS.items():
            calls = 0
            got = await timed(
                aiortc_setup(lambda f=factory: f(config), False, None, replaced),
                timeout,
            )
            if not isinstance(got, Sample):
                raise RuntimeError(f"{name}: {got}")
            expected = 0 if replaced else 2  # one gatherer per side
            if calls != expected:
                raise RuntimeError(
                    f"{name}: aioice gather_candidates() ran {calls}x, not {expected}x"
                )
    finally:
        aioice.ice.Connection.gather_candidates = original  # type: ignore[method-assign]


async def ab_section(args: argparse.Namespace) -> None:
    config = RTCConfiguration(iceServers=[])
    await check_ab_gathering(config, args.timeout)
    samples: dict[str, list[Sample]] = {name: [] for name in AB_KINDS}
    failures: dict[str, list[str]] = {name: [] for name in AB_KINDS}
    for round_ in range(args.rounds):
        names = list(AB_KINDS)
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            factory, replaced = AB_KINDS[name]
            got = await timed(
                aiortc_setup(lambda f=factory: f(config), False, None, replaced),
                args.timeout,
            )
            if isinstance(got, Sample):
                samples[name].append(got)
            else:
                failures[name].append(got)
                print(f"round {round_ + 1}: {name} failed: {got}", flush=True)

    print(f"\n{stamp()}")
    print(
        f"## Set-up cost without trickle, A/B in one process (iceServers=[])\n\n"
        f"{args.rounds} rounds, kinds alternating; createOffer -> both connected, "
        f"per pair, median (min-max); aiortc's gathering checked to run in (b) "
        f"and (c) and not in (a)\n"
    )
    print("| kind | to connected (ms) | process CPU (ms) | failed |")
    print("|---|---|---|---|")
    for name, got in samples.items():
        wall = spread([s.total for s in got], 1000, 1)
        cpu = spread([s.cpu for s in got], 1000, 1)
        print(f"| {name} | {wall} | {cpu} | {len(failures[name])} |")
    a, b, c = (samples[name] for name in AB_KINDS)
    if a and b and c:
        print("\nratios of medians:")
        for label, field in (("to connected", "total"), ("process CPU", "cpu")):
            ma, mb, mc = (
                statistics.median(getattr(s, field) for s in got) for got in (a, b, c)
            )
            print(f"  {label}: a/b {ma / mb:.2f}, a/c {ma / mc:.2f}")


async def idle_window(
    factory: Callable[[RTCConfiguration], RTCPeerConnection],
    replaced: bool,
    pairs: int,
    seconds: float,
    timeout: float,
) -> float:
    """Connect `pairs` pairs made by `factory` (a data channel each), let them
    idle `seconds`, and return the process CPU per connection-second over the
    idle window, in microseconds; then close them."""
    config = RTCConfiguration(iceServers=[])
    made: list[RTCPeerConnection] = []
    try:
        for _ in range(pairs):
            a, b = factory(config), factory(config)
            made += [a, b]
            a.createDataChannel("x")
            await connect(a, b, timeout=timeout)
            if gatherer_replaced(a) != replaced:
                raise RuntimeError(f"gatherer replaced is not {replaced}")
        await asyncio.sleep(1.0)  # the set-ups' tails
        cpu = time.process_time()
        await asyncio.sleep(seconds)
        return (time.process_time() - cpu) / (len(made) * seconds) * 1e6
    finally:
        await asyncio.gather(*(pc.close() for pc in made))


async def idle_section(args: argparse.Namespace) -> None:
    kinds = {name: AB_KINDS[name] for name in list(AB_KINDS)[:2]}
    figures: dict[str, list[float]] = {name: [] for name in kinds}
    for round_ in range(args.idle_rounds):
        names = list(kinds) if round_ % 2 == 0 else list(kinds)[::-1]
        for name in names:
            factory, replaced = kinds[name]
            figure = await idle_window(
                factory, replaced, args.idle_pairs, args.idle_seconds, args.timeout
            )
            figures[name].append(figure)
            print(f"idle round {round_ + 1}: {name}: {figure:.0f} us", flush=True)
    print(f"\n{stamp()}")
    print(
        f"## Idle cost without trickle, A/B in one process\n\n"
        f"{args.idle_pairs} pairs connected (iceServers=[]), then "
        f"{args.idle_seconds:g} s idle; process CPU per connection-second, "
        f"median (min-max) of {args.idle_rounds} windows, kinds alternating\n"
    )
    print("| kind | idle CPU (us per connection-second) |")
    print("|---|---|")
    for name, values in figures.items():
        print(f"| {name} | {spread(values, 1.0, 0)} |")
    a, b = (statistics.median(values) for values in figures.values())
    print(f"\nratio of medians a/b: {a / b:.2f}")


async def main(args: argparse.Namespace) -> None:
    if "silent" in args.sections:
        await silent_section(args)
    if "ab" in args.sections:
        await ab_section(args)
    if "idle" in args.sections:
        await idle_section(args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="set-ups of each row with the silent server, round-robin",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=30,
        help="set-ups of each kind with no server (A/B), alternating",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a set-up may take"
    )
    parser.add_argument(
        "--idle-rounds", type=int, default=6, help="idle windows of each kind"
    )
    parser.add_argument(
        "--idle-pairs", type=int, default=20, help="pairs alive in an idle window"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="length of an idle window"
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=("silent", "ab", "idle"),
        default=["silent", "ab", "idle"],
        help="which sections to run",
    )
    asyncio.run(main(parser.parse_args()))
