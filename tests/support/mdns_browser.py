"""Headless chromium, with its default mDNS host candidates, and a Python rtcstate
peer, inside one network namespace.

Run by tests/test_mdns.py, from the repository's root, as
``ip netns exec NS python -m tests.support.mdns_browser``.
The namespace (see there) has an interface, ``--interface``, that both gather
on, a multicast route over it and a default route to a gateway in another
namespace of the test's that forwards nothing, so chromium's mDNS responder
and aioice's mDNS client find each other there and nowhere else.

examples/browser/app.py serves the page on 127.0.0.1 (of the namespace); the
page offers, the Python side answers. The script connects, reads the offer as
the Python side received it and what aioice made of its candidates, closes the
page and times the Python side's ``disconnected`` and ``failed``. Meanwhile a
packet socket records every frame on the interface: where each IP packet went,
and each mDNS message as dnspython (aioice's parser) reads it. It prints one
JSON object on stdout and never raises past main: a failed step is reported in
``"error"``, with what was measured before it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import socket
import struct
import tempfile
import traceback
from pathlib import Path
from typing import Any

import dns.message
import dns.rdatatype
from aiohttp import web
from playwright.async_api import async_playwright

import rtcstate
from tests.support.browser import (
    BROWSER_LIVENESS,
    CHROMIUM_ARGS,
    connected_python_peer,
    example_app,
)

# unlike tests/test_browser.py, no --disable-features=WebRtcHideLocalIpsWithMdns:
# host candidates are mDNS names
ETH_P_ALL = 0x0003
MDNS_PORT = 5353
FRAMES = 5000  # the capture stops counting after this many frames


class RecordingPeer(rtcstate.PeerConnection):
    """An rtcstate peer that keeps the remote SDP exactly as the server got it
    (aiortc's remoteDescription is rebuilt from its own state, and has no
    candidates)."""

    received: list[str] = []

    async def setRemoteDescription(self, description: Any) -> None:
        RecordingPeer.received.append(description.sdp)
        await super().setRemoteDescription(description)


class AioiceLog(logging.Handler):
    """aioice's reports about the remote mDNS candidates it resolved or not."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Remote candidate" in message:
            self.lines.append(message)


class Capture:
    """Every frame sent or received on one interface, summarised (tcpdump is
    not installed here): IP destinations, and the mDNS messages."""

    def __init__(self, interface: str) -> None:
        self.sock = socket.socket(
            socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)
        )
        self.sock.bind((interface, 0))
        self.sock.setblocking(False)
        self.frames = 0
        self.destinations: set[str] = set()
        self.mdns: list[dict[str, Any]] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.sock.fileno(), self._read)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(self.sock.fileno())
        self._read()  # what is still queued
        self.sock.close()

    def _read(self) -> None:
        for _ in range(256):  # bounded per wake-up; the loop calls again
            try:
                frame = self.sock.recv(65535)
            except (BlockingIOError, OSError):
                return
            self.frames += 1
            if self.frames <= FRAMES:
                self._frame(frame)

    def _frame(self, frame: bytes) -> None:
        (ethertype,) = struct.unpack_from("!H", frame, 12)
        if ethertype == 0x0800:
            header = (frame[14] & 0x0F) * 4
            protocol = frame[23]
            source = socket.inet_ntop(socket.AF_INET, frame[26:30])
            destination = socket.inet_ntop(socket.AF_INET, frame[30:34])
            udp = 14 + header
        elif ethertype == 0x86DD:
            protocol = frame[20]  # MLD's hop-by-hop header is not UDP: fine
            source = socket.inet_ntop(socket.AF_INET6, frame[22:38])
            destination = socket.inet_ntop(socket.AF_INET6, frame[38:54])
            udp = 54
        else:
            return  # ARP and the like: no IP destination
        self.destinations.add(destination)
        if protocol != 17 or len(frame) < udp + 8:
            return
        ports = struct.unpack_from("!HH", frame, udp)
        if MDNS_PORT in ports:
            self.mdns.append(mdns_summary(source, frame[udp + 8 :]))


def record_types(payload: bytes, counts: list[int]) -> list[str]:
    """The types of the records of a DNS message, read by hand (so even of one
    dnspython rejects)."""
    offset, types = 12, []

    def skip_name(offset: int) -> int:
        while payload[offset] != 0:
            if payload[offset] >= 0xC0:  # a compression pointer ends the name
                return offset + 2
            offset += 1 + payload[offset]
        return offset + 1

    try:
        for _ in range(counts[0]):
            offset = skip_name(offset) + 4  # type and class
        for _ in range(sum(counts[1:])):
            offset = skip_name(offset)
            kind, _class, _ttl, length = struct.unpack_from("!HHIH", payload, offset)
            types.append(dns.rdatatype.to_text(kind))
            offset += 10 + length
    except (IndexError, struct.error):
        types.append("truncated")
    return types


def mdns_summary(source: str, payload: bytes) -> dict[str, Any]:
    """An mDNS message as dnspython reads it, or why it cannot."""
    flags, *counts = struct.unpack_from("!H4H", payload, 2)
    summary: dict[str, Any] = {
        "from": source,
        "response": bool(flags & 0x8000),
        "counts": counts,  # questions, answers, authority, additional
        "record_types": record_types(payload, counts),
    }
    try:
        message = dns.message.from_wire(payload)
    except Exception as exc:  # what aioice's datagram_received would meet
        summary["error"] = type(exc).__name__
        return summary
    summary["questions"] = [str(q.name) for q in message.question]
    return summary


def candidates(sdp: str) -> list[dict[str, str]]:
    found = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            # FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE
            found.append(
                {"address": fields[4], "protocol": fields[2].lower(), "type": fields[7]}
            )
    return found


async def scenario(
    args: argparse.Namespace, result: dict[str, Any], profile: Path
) -> None:
    loop = asyncio.get_running_loop()
    # app.py makes its peers as rtcstate.PeerConnection(...): record their offers
    rtcstate.PeerConnection = RecordingPeer  # type: ignore[misc]
    aioice_log = AioiceLog()
    logging.getLogger("aioice.ice").addHandler(aioice_log)
    logging.getLogger("aioice.ice").setLevel(logging.INFO)
    app = example_app().make_app(BROWSER_LIVENESS)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=args.chromium,
                headless=True,
                args=CHROMIUM_ARGS + args.chromium_arg,
            )
            try:
                page = await context.new_page()
                started = loop.time()
                await page.goto(f"http://127.0.0.1:{port}/")
                python_peer = await connected_python_peer(page, app)
                result["connect_s"] = loop.time() - started
                result["offer_candidates"] = candidates(RecordingPeer.received[0])
                result["aioice_log"] = aioice_log.lines
                # the remote candidates aioice kept (an mDNS one keeps its name)
                # and the pair it selected
                connection = python_peer.sctp.transport.transport._connection
                result["remote_candidates"] = [
                    {"host": c.host, "type": c.type}
                    for c in connection._remote_candidates
                ]
                pair = connection._nominated[1]
                result["selected"] = {
                    "local": pair.local_addr[0],
                    "remote": pair.remote_addr[0],
                    "remote_host": pair.remote_candidate.host,
                    "remote_type": pair.remote_candidate.type,
                }
                states: list[tuple[float, str]] = []
                python_peer.on(
                    "connectionstatechange",
                    lambda c: states.append((loop.time(), str(c.current))),
                )
                closed_at = loop.time()
                await page.close()
                await python_peer.wait_for_connection_state("failed", timeout=10)
                result["after_close"] = [[t - closed_at, s] for t, s in states]
                result["sequence"] = [
                    str(c.current)
                    for c in python_peer.state_history
                    if c.attribute == "connectionState"
                ]
            finally:
                await context.close()
    finally:
        await runner.cleanup()


async def run(args: argparse.Namespace, result: dict[str, Any], profile: Path) -> None:
    loop = asyncio.get_running_loop()
    capture = Capture(args.interface)
    capture.start(loop)
    try:
        await asyncio.wait_for(scenario(args, result, profile), 60)
    finally:
        capture.stop(loop)
        result["frames"] = capture.frames
        result["destinations"] = sorted(capture.destinations)
        result["mdns"] = capture.mdns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    parser.add_argument(
        "--chromium-arg", action="append", default=[], help="more switches (logging)"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="rtcstate-mdns-") as profile:
            asyncio.run(run(args, result, Path(profile)))
    except BaseException as exc:
        result["error"] = "".join(traceback.format_exception(exc))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
