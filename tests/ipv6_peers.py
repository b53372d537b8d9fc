"""Two rtcstate peers on two hosts (network namespaces) joined by IPv6 only.

Run by tests/test_ipv6.py, inside host A's namespace::

    ip netns exec A python tests/ipv6_peers.py --remote-netns B \
        --cut '["ip", "-n", "W", ...]' --restore '["ip", "-n", "W", ...]'

Peer A lives in this process's namespace; peer B's sockets are made inside
namespace B (this thread enters it while B gathers, then comes back), so the
two peers reach each other only over the link between the namespaces. Both
SDPs keep only their IPv6 candidates. The script connects, carries data-channel
messages both ways, idles, runs ``--cut`` (which must silence the link both
ways), waits for ``disconnected``, runs ``--restore``, waits for ``connected``,
and prints one JSON object with what it saw on stdout. It never raises past
main: a failed step is reported in ``"error"`` with what was measured before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

from aiortc import RTCConfiguration, RTCSessionDescription

import rtcstate
from rtcstate import _internals

CONNECT_TIMEOUT = 10.0
IDLE = 3.0  # longer than the default disconnected_timeout (2 s): keepalives only
STATE_TIMEOUT = 6.0  # to see a state after the cut or the restore
MESSAGES = 5  # each way, before the cut and after the restore

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """This thread in namespace ``name`` (sockets made meanwhile belong to it)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def candidate_address(line: str) -> str:
    # a=candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ ...
    return line.split()[4]


def ipv6_only(sdp: str) -> str:
    """``sdp`` without its IPv4 candidates."""
    keep = [
        line
        for line in sdp.splitlines()
        if not line.startswith("a=candidate:") or ":" in candidate_address(line)
    ]
    return "\r\n".join(keep) + "\r\n"


def candidates(sdp: str) -> list[str]:
    return [
        candidate_address(line)
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    ]


class Peer:
    """One side: its connection, the times its states changed, its messages."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.name = name
        # default liveness timers: the figures an application gets
        self.pc = rtcstate.PeerConnection(
            RTCConfiguration(iceServers=[]), liveness=rtcstate.LivenessConfig()
        )
        self.states: list[tuple[float, str]] = []
        self.received: list[str] = []
        self.channel: Any = None
        self.pc.on(
            "connectionstatechange",
            lambda change: self.states.append((loop.time(), str(change.current))),
        )

    def attach(self, channel: Any) -> None:
        self.channel = channel
        channel.on("message", self.received.append)

    async def wait_for_messages(self, count: int, timeout: float) -> None:
        for _ in range(int(timeout / 0.02)):
            if len(self.received) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.name} received {len(self.received)} of {count}")

    @property
    def transport(self) -> Any:
        return self.pc.sctp.transport.transport

    def pair(self) -> dict[str, Any]:
        """The selected pair, as aioice and the liveness monitor see it."""
        nominated = self.transport._connection._nominated[1]
        selected = _internals.selected_pair(self.transport)
        driver = self.pc._rtcstate._ice[self.transport].driver
        return {
            "local": list(nominated.local_addr),
            "remote": list(nominated.remote_addr),
            "fast": None if selected is None else selected.fast,
            # the pair the running monitor watches and sends its keepalives on
            "driver_fast": None if driver is None else driver._pair.fast,
        }

    def keepalives_sent(self) -> int:
        driver = self.pc._rtcstate._ice[self.transport].driver
        return -1 if driver is None else int(driver.keepalives_sent)

    def first(self, state: str, after: float) -> float | None:
        return next((t for t, s in self.states if s == state and t >= after), None)


async def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    a = Peer("a", loop)
    b: Peer | None = None
    try:
        a.attach(a.pc.createDataChannel("chat"))
        started = loop.time()
        await a.pc.setLocalDescription(await a.pc.createOffer())
        offer = a.pc.localDescription.sdp
        # B's sockets are made while B gathers, in setLocalDescription: only
        # then is this thread inside B (no socket of A's is made meanwhile)
        with inside(args.remote_netns):
            b = Peer("b", loop)

            @b.pc.on("datachannel")
            def on_datachannel(channel: Any) -> None:
                assert b is not None
                b.attach(channel)
                # echo, so A hears back over the same pair
                channel.on("message", lambda m: channel.send(f"echo {m}"))

            await b.pc.setRemoteDescription(
                RTCSessionDescription(ipv6_only(offer), "offer")
            )
            await b.pc.setLocalDescription(await b.pc.createAnswer())
        answer = b.pc.localDescription.sdp
        await a.pc.setRemoteDescription(
            RTCSessionDescription(ipv6_only(answer), "answer")
        )
        result["candidates"] = {"a": candidates(offer), "b": candidates(answer)}
        for peer in (a, b):
            await peer.pc.wait_for_connection_state(
                "connected", timeout=CONNECT_TIMEOUT
            )
        result["connect_s"] = loop.time() - started
        result["pairs"] = {"a": a.pair(), "b": b.pair()}

        # data both ways: A's messages, B's echoes and B's own
        opened = asyncio.Event()
        if a.channel.readyState == "open":
            opened.set()
        a.channel.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), CONNECT_TIMEOUT)
        for n in range(MESSAGES):
            a.channel.send(f"a {n}")
        await b.wait_for_messages(MESSAGES, 5)
        for n in range(MESSAGES):
            b.channel.send(f"b {n}")
        await a.wait_for_messages(2 * MESSAGES, 5)  # echoes and B's own

        # idle for longer than disconnected_timeout: only keepalives keep it
        # up; aioice's request handler counts the keepalives it had to answer
        # (the hand-built fast path answers them before aioice sees them)
        aioice_answered = {"a": 0, "b": 0}
        for peer in (a, b):
            connection = peer.transport._connection
            original = connection.request_received

            def counting(*call: Any, _o: Any = original, _n: str = peer.name) -> Any:
                aioice_answered[_n] += 1
                return _o(*call)

            connection.request_received = counting
        sent_before = {p.name: p.keepalives_sent() for p in (a, b)}
        await asyncio.sleep(IDLE)
        result["idle"] = {
            "states": {p.name: str(p.pc.connectionState) for p in (a, b)},
            "keepalives_sent": {
                p.name: p.keepalives_sent() - sent_before[p.name] for p in (a, b)
            },
            "aioice_answered": aioice_answered,
        }

        # a silent outage on the link between the hosts
        cut = await asyncio.create_subprocess_exec(*args.cut)
        if await cut.wait() != 0:
            raise RuntimeError(f"cut failed: {args.cut}")
        cut_at = loop.time()
        for peer in (a, b):
            await peer.pc.wait_for_connection_state(
                "disconnected", timeout=STATE_TIMEOUT
            )
        restore = await asyncio.create_subprocess_exec(*args.restore)
        if await restore.wait() != 0:
            raise RuntimeError(f"restore failed: {args.restore}")
        restored_at = loop.time()
        for peer in (a, b):
            await peer.pc.wait_for_connection_state("connected", timeout=STATE_TIMEOUT)
        result["disconnected_after_cut_s"] = {
            p.name: p.first("disconnected", cut_at) - cut_at  # type: ignore[operator]
            for p in (a, b)
        }
        result["connected_after_restore_s"] = {
            p.name: p.first("connected", restored_at) - restored_at  # type: ignore[operator]
            for p in (a, b)
        }
        result["outage_s"] = restored_at - cut_at

        # and the data flows again
        for n in range(MESSAGES):
            a.channel.send(f"a again {n}")
        await b.wait_for_messages(2 * MESSAGES, 5)
        await a.wait_for_messages(3 * MESSAGES, 5)
        result["received"] = {"a": len(a.received), "b": len(b.received)}
        result["pairs_after"] = {"a": a.pair(), "b": b.pair()}
    finally:
        result["states"] = {
            p.name: [s for _, s in p.states] for p in (a, b) if p is not None
        }
        for peer in (a, b):
            if peer is not None:
                await peer.pc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--remote-netns", required=True)
    parser.add_argument("--cut", type=json.loads, required=True)
    parser.add_argument("--restore", type=json.loads, required=True)
    args = parser.parse_args()
    result: dict[str, Any] = {}
    try:
        asyncio.run(asyncio.wait_for(run(args, result), 45))
    except BaseException as exc:
        result["error"] = "".join(traceback.format_exception(exc))
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
