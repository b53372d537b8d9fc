"""rtcstate against three remotes over IPv6 host candidates, between two hosts
made of network namespaces.

Run by tests/test_ipv6.py, inside host A's namespace, from the repository's root::

    ip netns exec A python -m tests.support.ipv6_peers --remote-netns B \
        --wrtc '["ip", "netns", "exec", "B", "python", "-m",
                 "tests.support.ipv6_wrtc_peer"]' \
        --cut '["ip", "-n", "W", ...]' --restore '["ip", "-n", "W", ...]'

The local side of every pair is an ``rtcstate.PeerConnection`` in this
process's namespace, A, with the default liveness timers. The remotes are in B:
a plain aiortc ``RTCPeerConnection`` and an ``rtcstate.PeerConnection`` in this
process, whose sockets are made inside B (this thread enters B while they
gather, then comes back), and libwebrtc in a process of its own started inside
B (tests/support/ipv6_wrtc_peer.py, driven over its stdin and stdout: libwebrtc makes
its sockets on threads of its own). Every SDP keeps only its IPv6 (UDP)
candidates, so each pair reaches its remote only over the link between the
hosts.

All pairs at once: connect and pass a message each way; IDLE seconds with
messages both ways every SEND_EVERY; a silent outage (``--cut``, which must
silence the link both ways) of OUTAGE seconds, then ``--restore`` and a message
each way; then ``--cut`` for good, until every rtcstate side reads ``failed``.

The script measures, tests/test_ipv6.py judges: it prints one JSON object on
stdout, and never raises past main: a failed step is reported in ``"error"``
(of the run, or of one pair) with what was measured before it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import rtcstate
from rtcstate import _tap as tap
from tests.support.inside import readout
from tests.support.targets import IDLE, connection_states

REMOTES = ("aiortc", "rtcstate", "libwebrtc")
CONNECT_TIMEOUT = 10.0  # per pair, all pairs at once
SEND_EVERY = 0.5
OUTAGE = 4.0
# measure past the targets, to know by how much a miss misses
DISCONNECTED_WAIT = OUTAGE - 0.1
CONNECTED_WAIT = 3.0
FAILED_WAIT = 17.0
SETTLE = 1.0  # of healthy keepalives between the return and the lasting cut
MESSAGE_WAIT = 5.0
POLL = 0.02

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
    """``sdp`` without its IPv4 candidates (aioice gathers UDP only)."""
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


async def poll(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether ``condition()`` holds within ``timeout`` seconds."""
    for _ in range(int(timeout / POLL) + 1):
        if condition():
            return True
        await asyncio.sleep(POLL)
    return condition()


class Side:
    """One peer of a pair, whatever its implementation: the messages it
    received and its own ``connectionState`` changes, with loop times."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.received: list[str] = []
        self.sent = 0
        self.send_errors: list[str] = []
        self._states: list[tuple[float, str]] = []

    @property
    def is_rtcstate(self) -> bool:
        return False

    @property
    def states(self) -> list[tuple[float, str]]:
        return self._states

    @property
    def state(self) -> str:
        states = self.states
        return states[-1][1] if states else "new"

    def first(self, state: str, since: float) -> float | None:
        """Seconds from ``since`` to this peer's first change to ``state``."""
        for time, current in self.states:
            if time >= since and current == state:
                return time - since
        return None

    def changes_since(self, since: float) -> list[str]:
        return [f"connectionState -> {s}" for t, s in self._states if t > since]

    async def wait_for_state(self, state: str, since: float, timeout: float) -> bool:
        return await poll(lambda: self.first(state, since) is not None, timeout)

    async def wait_for_messages(self, count: int, timeout: float) -> bool:
        return await poll(lambda: len(self.received) >= count, timeout)

    @property
    def is_open(self) -> bool:
        raise NotImplementedError

    def _send(self, text: str) -> None:
        raise NotImplementedError

    def send(self, text: str) -> None:
        try:
            self._send(text)
        except Exception as exc:
            self.send_errors.append(repr(exc))
        else:
            self.sent += 1

    async def pair(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def keepalives_sent(self) -> int:
        """Keepalives its liveness monitor sent (rtcstate only)."""
        return -1

    async def close(self) -> None:
        raise NotImplementedError


class AiortcSide(Side):
    """An aiortc peer of this process: plain, or rtcstate's."""

    def __init__(self, kind: str, pc: RTCPeerConnection) -> None:
        super().__init__(kind)
        self.pc = pc
        self.channel: Any = None
        pc.on("datachannel", self.attach)
        if not self.is_rtcstate:
            loop = asyncio.get_running_loop()

            @pc.on("connectionstatechange")
            def record() -> None:
                self._states.append((loop.time(), str(pc.connectionState)))

    @property
    def is_rtcstate(self) -> bool:
        return isinstance(self.pc, rtcstate.PeerConnection)

    @property
    def states(self) -> list[tuple[float, str]]:
        if self.is_rtcstate:
            return connection_states(self.pc)
        return self._states

    def changes_since(self, since: float) -> list[str]:
        if self.is_rtcstate:
            return [str(c) for c in self.pc.state_history if c.time > since]
        return super().changes_since(since)

    def attach(self, channel: Any) -> None:
        self.channel = channel
        channel.on("message", self.received.append)

    @property
    def is_open(self) -> bool:
        return self.channel is not None and self.channel.readyState == "open"

    def _send(self, text: str) -> None:
        self.channel.send(text)

    @property
    def transport(self) -> Any:
        return self.pc.sctp.transport.transport

    @property
    def driver(self) -> Any:
        """rtcstate's running liveness driver of the transport, or None."""
        liveness = readout(self.pc).liveness(self.transport)
        return None if liveness is None else liveness.driver

    async def pair(self) -> dict[str, Any] | None:
        """The selected pair, as aioice and (for rtcstate) the liveness
        monitor see it."""
        nominated = self.transport._connection._nominated.get(1)
        if nominated is None:
            return None
        info: dict[str, Any] = {
            "local": list(nominated.local_addr),
            "remote": list(nominated.remote_addr),
        }
        if self.is_rtcstate:
            selected = tap.selected_pair(self.transport)
            driver = self.driver
            info["fast"] = None if selected is None else selected.fast
            # the pair the running monitor watches and sends its keepalives on
            info["driver_fast"] = None if driver is None else driver.pair.fast
        return info

    def keepalives_sent(self) -> int:
        driver = self.driver
        return -1 if driver is None else int(driver.keepalives_sent)

    async def close(self) -> None:
        await self.pc.close()


class WrtcSide(Side):
    """libwebrtc in its own process (tests/support/ipv6_wrtc_peer.py): what it
    reports on stdout, and commands on its stdin."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__("libwebrtc")
        self.process = process
        self.opened: float | None = None
        self.ice: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.noise: list[str] = []  # lines of its stdout that are not JSON
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                self.noise.append(line.decode(errors="replace").rstrip())
                continue
            if "state" in message:
                self._states.append((message["t"], message["state"]))
            elif "ice" in message:
                self.ice.append((message["t"], message["ice"]))
            elif "message" in message:
                self.received.append(message["message"])
            elif "open" in message:
                self.opened = message["open"]
            elif "error" in message:
                self.errors.append(message["error"])
            else:
                self._replies.put_nowait(message)

    def command(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")

    async def reply(self, key: str, timeout: float) -> Any:
        """The value of its next reply, which must carry ``key``."""
        message = await asyncio.wait_for(self._replies.get(), timeout)
        if key not in message:
            raise RuntimeError(f"libwebrtc said {message}, expected {key!r}")
        return message[key] if len(message) == 1 else message

    @property
    def is_open(self) -> bool:
        return self.opened is not None

    def _send(self, text: str) -> None:
        if self.process.returncode is not None:
            raise RuntimeError(f"libwebrtc exited ({self.process.returncode})")
        self.command(send=text)

    async def pair(self) -> dict[str, Any] | None:
        self.command(pair=None)
        result: dict[str, Any] | None = await self.reply("pair", 5)
        return result

    async def close(self) -> None:
        try:
            if self.process.returncode is None:
                with contextlib.suppress(Exception):
                    self.command(close=None)
                    await asyncio.wait_for(self.process.wait(), 5)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            await asyncio.wait_for(self._reader, 5)


class Pair:
    """An rtcstate peer in A and its remote in B, and what was measured."""

    def __init__(self, kind: str, local: AiortcSide) -> None:
        self.kind = kind
        self.local = local
        self.remote: Side | None = None
        self.started = 0.0
        self.connected = False
        #: everything reported for this pair
        self.data: dict[str, Any] = {"remote": kind}

    def sides(self) -> list[tuple[str, Side]]:
        sides: list[tuple[str, Side]] = [("local", self.local)]
        if self.remote is not None:
            sides.append(("remote", self.remote))
        return sides

    def rtcstate_sides(self) -> list[tuple[str, Side]]:
        return [(label, side) for label, side in self.sides() if side.is_rtcstate]

    def error(self, step: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.data.setdefault("errors", []).append(f"{step}: {text}")


def rtcstate_peer() -> rtcstate.PeerConnection:
    # the default liveness timers: the figures an application gets
    return rtcstate.PeerConnection(
        RTCConfiguration(iceServers=[]), liveness=rtcstate.LivenessConfig()
    )


async def offer(side: AiortcSide) -> str:
    side.attach(side.pc.createDataChannel("chat"))
    await side.pc.setLocalDescription(await side.pc.createOffer())
    return str(side.pc.localDescription.sdp)


async def answer(side: AiortcSide, offer: str) -> str:
    await side.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    await side.pc.setLocalDescription(await side.pc.createAnswer())
    return str(side.pc.localDescription.sdp)


async def connect(pair: Pair) -> None:
    """Wait for both sides connected and open, then a message each way."""
    assert pair.remote is not None
    loop = asyncio.get_running_loop()
    try:
        deadline = pair.started + CONNECT_TIMEOUT
        for label, side in pair.sides():
            if not await side.wait_for_state(
                "connected", 0.0, deadline - loop.time()
            ) or not await poll(lambda s=side: s.is_open, deadline - loop.time()):
                raise RuntimeError(f"{label} is {side.state}")
        pair.data["connect"] = pair.local.first("connected", pair.started)
        for sender, receiver in ((pair.local, pair.remote), (pair.remote, pair.local)):
            sender.send("hello")
            if not await receiver.wait_for_messages(1, MESSAGE_WAIT):
                raise RuntimeError(f"no hello from the {sender.kind} side")
        pair.connected = True
    except Exception as exc:  # the other pairs go on
        pair.error("connect", exc)


async def pairs_info(pair: Pair) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for label, side in pair.sides():
        try:
            info[label] = await side.pair()
        except Exception as exc:
            info[label] = f"{type(exc).__name__}: {exc}"
    return info


async def exchange(pair: Pair) -> None:
    """A message each way, each waited for."""
    assert pair.remote is not None
    try:
        for sender, receiver in ((pair.local, pair.remote), (pair.remote, pair.local)):
            count = len(receiver.received)
            sender.send("after")
            if not await receiver.wait_for_messages(count + 1, MESSAGE_WAIT):
                raise RuntimeError(f"no message from the {sender.kind} side")
        pair.data["after"] = True
    except Exception as exc:
        pair.data["after"] = False
        pair.error("after the outage", exc)


async def command(argv: list[str]) -> float:
    """Run ``argv``; the loop time it started (the earliest the link changed)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    process = await asyncio.create_subprocess_exec(*argv)
    if await asyncio.wait_for(process.wait(), 10) != 0:
        raise RuntimeError(f"failed: {argv}")
    return started


async def wait_all(waits: list[Awaitable[Any]]) -> None:
    await asyncio.gather(*waits)


async def idle(pairs: list[Pair], result: dict[str, Any]) -> None:
    """IDLE seconds of messages both ways on every pair, one task for all."""
    loop = asyncio.get_running_loop()
    # aioice's request handler counts the requests it had to answer (the
    # hand-built fast path answers keepalives before aioice sees them)
    answered: dict[tuple[int, str], int] = {}
    for index, pair in enumerate(pairs):
        for label, side in pair.rtcstate_sides():
            assert isinstance(side, AiortcSide)
            key = (index, label)
            answered[key] = 0
            connection = side.transport._connection
            original = connection.request_received

            def counting(*call: Any, _o: Any = original, _k: Any = key) -> Any:
                answered[_k] += 1
                return _o(*call)

            connection.request_received = counting
    before = {
        (index, label): side.keepalives_sent()
        for index, pair in enumerate(pairs)
        for label, side in pair.rtcstate_sides()
    }
    idle_from = loop.time()
    for n in range(int(IDLE / SEND_EVERY)):
        for pair in pairs:
            for _, side in pair.sides():
                side.send(f"{side.kind} {n}")
        await asyncio.sleep(max(0.0, idle_from + (n + 1) * SEND_EVERY - loop.time()))
    idle_to = loop.time()
    result["idle_s"] = idle_to - idle_from
    # every message sent arrives (the last ones may still be in flight)
    await wait_all(
        [
            receiver.wait_for_messages(sender.sent, MESSAGE_WAIT)
            for pair in pairs
            if pair.remote is not None
            for receiver, sender in (
                (pair.local, pair.remote),
                (pair.remote, pair.local),
            )
        ]
    )
    for index, pair in enumerate(pairs):
        sides = pair.sides()
        connected = {label: side.first("connected", 0.0) for label, side in sides}
        pair.data["idle"] = {
            "states": {label: side.state for label, side in sides},
            "sent": {label: side.sent for label, side in sides},
            "received": {label: len(side.received) for label, side in sides},
            "send_errors": {label: side.send_errors[:1] for label, side in sides},
            "changes_after_connected": {
                label: side.changes_since(connected[label] or 0.0)
                for label, side in sides
            },
            "changes_while_idle": {
                label: side.changes_since(idle_from) for label, side in sides
            },
            "keepalives_sent": {
                label: side.keepalives_sent() - before[index, label]
                for label, side in pair.rtcstate_sides()
            },
            "aioice_answered": {
                label: answered[index, label] for label, _ in pair.rtcstate_sides()
            },
        }


def seen_since(pair: Pair, since: float) -> dict[str, list[str]]:
    """Every side's connectionState changes since ``since``."""
    return {
        label: [s for t, s in side.states if t >= since] for label, side in pair.sides()
    }


def outage_record(pair: Pair, cut_at: float, **since: float) -> dict[str, Any]:
    """For each state named, when each rtcstate side first read it after the
    time given; and every side's changes since the cut."""
    record: dict[str, Any] = {
        state: {label: side.first(state, at) for label, side in pair.rtcstate_sides()}
        for state, at in since.items()
    }
    record["seen"] = seen_since(pair, cut_at)
    return record


async def short_outage(
    pairs: list[Pair], args: argparse.Namespace, result: dict[str, Any]
) -> None:
    loop = asyncio.get_running_loop()
    sides = [side for pair in pairs for _, side in pair.rtcstate_sides()]
    cut_at = await command(args.cut)
    await wait_all(
        [s.wait_for_state("disconnected", cut_at, DISCONNECTED_WAIT) for s in sides]
    )
    # the outage lasts OUTAGE seconds from the cut, whatever happened meanwhile
    await asyncio.sleep(max(0.0, cut_at + OUTAGE - loop.time()))
    restored_at = await command(args.restore)
    result["outage_s"] = restored_at - cut_at
    await wait_all(
        [s.wait_for_state("connected", restored_at, CONNECTED_WAIT) for s in sides]
    )
    for pair in pairs:
        pair.data["outage"] = outage_record(
            pair, cut_at, disconnected=cut_at, connected=restored_at
        )
    # data flows again, both ways, on the same pairs
    await wait_all([exchange(pair) for pair in pairs])
    for pair in pairs:
        pair.data["selected_after"] = await pairs_info(pair)


async def lasting_outage(
    pairs: list[Pair], args: argparse.Namespace, result: dict[str, Any]
) -> None:
    sides = [side for pair in pairs for _, side in pair.rtcstate_sides()]
    cut_at = await command(args.cut)
    await wait_all([s.wait_for_state("failed", cut_at, FAILED_WAIT) for s in sides])
    for pair in pairs:
        pair.data["lasting"] = outage_record(
            pair, cut_at, disconnected=cut_at, failed=cut_at
        )


async def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    # libwebrtc first: it loads while the others gather
    process = await asyncio.create_subprocess_exec(
        *args.wrtc, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    wrtc = WrtcSide(process)
    pairs = [Pair(kind, AiortcSide("rtcstate", rtcstate_peer())) for kind in REMOTES]
    result["pairs"] = [pair.data for pair in pairs]
    try:
        # the offers, gathered in A
        started = loop.time()
        for pair in pairs:
            pair.started = started
        offers = await asyncio.gather(*(offer(pair.local) for pair in pairs))
        timeline = result["timeline"] = {"offers": loop.time() - started}
        by_kind = {pair.kind: (pair, sdp) for pair, sdp in zip(pairs, offers)}
        await wrtc.reply("ready", CONNECT_TIMEOUT)
        timeline["libwebrtc ready"] = loop.time() - started
        wrtc.command(offer=ipv6_only(by_kind["libwebrtc"][1]))
        by_kind["libwebrtc"][0].remote = wrtc
        # the answers of this process's remotes, gathered in B: only then is
        # this thread inside B, and no socket of A's is made meanwhile
        with inside(args.remote_netns):
            remotes = {
                "aiortc": AiortcSide("aiortc", RTCPeerConnection()),
                "rtcstate": AiortcSide("rtcstate", rtcstate_peer()),
            }
            answers: dict[str, str] = {}  # as the local sides get them
            gathered: dict[str, list[str]] = {}  # every candidate's address
            for kind, remote in remotes.items():
                by_kind[kind][0].remote = remote
                sdp = await answer(remote, ipv6_only(by_kind[kind][1]))
                answers[kind], gathered[kind] = ipv6_only(sdp), candidates(sdp)
        timeline["answers in B"] = loop.time() - started
        libwebrtc = await wrtc.reply("answer", CONNECT_TIMEOUT)
        timeline["libwebrtc answer"] = loop.time() - started
        answers["libwebrtc"] = libwebrtc["answer"]  # IPv6 UDP only
        gathered["libwebrtc"] = libwebrtc["candidates"]
        for pair, sdp in zip(pairs, offers):
            pair.data["candidates"] = {
                "local": candidates(sdp),
                "remote": gathered[pair.kind],
                "remote_kept": candidates(answers[pair.kind]),
            }
        await asyncio.gather(
            *(
                pair.local.pc.setRemoteDescription(
                    RTCSessionDescription(answers[pair.kind], "answer")
                )
                for pair in pairs
            )
        )
        await asyncio.gather(*(connect(pair) for pair in pairs))
        live = [pair for pair in pairs if pair.connected]
        for pair in live:
            pair.data["selected"] = await pairs_info(pair)
        if not live:
            raise RuntimeError("no pair connected")
        await idle(live, result)
        await short_outage(live, args, result)
        await asyncio.sleep(SETTLE)
        await lasting_outage(live, args, result)
    finally:
        for pair in pairs:
            pair.data["states"] = {
                label: [s for _, s in side.states] for label, side in pair.sides()
            }
        closing = [side.close() for pair in pairs for _, side in pair.sides()]
        if wrtc not in [pair.remote for pair in pairs]:
            closing.append(wrtc.close())
        closed = await asyncio.gather(
            *(asyncio.wait_for(c, 10) for c in closing), return_exceptions=True
        )
        result["close_errors"] = [repr(c) for c in closed if c is not None]
        result["libwebrtc"] = {
            "errors": wrtc.errors,
            "noise": wrtc.noise[-5:],
            "ice": [s for _, s in wrtc.ice],
            "exit": process.returncode,
        }


class Logged(logging.Handler):
    """rtcstate's own warnings and errors in loop callbacks, as the test
    suite's internal_errors fixture sees them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("rtcstate") or (
            record.name == "asyncio" and record.levelno >= logging.ERROR
        ):
            exc = f" [{record.exc_info[1]!r}]" if record.exc_info else ""
            self.lines.append(
                f"{record.name}: {record.getMessage().splitlines()[0]}{exc}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--remote-netns", required=True)
    parser.add_argument("--wrtc", type=json.loads, required=True)
    parser.add_argument("--cut", type=json.loads, required=True)
    parser.add_argument("--restore", type=json.loads, required=True)
    parser.add_argument("--deadline", type=float, default=80.0)
    args = parser.parse_args()
    logged = Logged()
    logging.getLogger().addHandler(logged)
    result: dict[str, Any] = {}
    try:
        asyncio.run(asyncio.wait_for(run(args, result), args.deadline))
    except BaseException as exc:
        result["error"] = "".join(traceback.format_exception(exc))
    result["logged"] = logged.lines
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
