"""Liveness of each local kind against each remote kind, through FaultyLink.

Local kinds: plain aiortc, rtcstate (default LivenessConfig), libwebrtc (wrtc).
Remote kinds: the same three. Every pair runs concurrently in one process, each
through its own FaultyLink on 127.0.0.1, and for each the script measures:

- time to ``disconnected`` after a silent cut (median of TRIALS cuts of CUT s);
- time back to ``connected`` after the restore (median);
- time to ``failed`` on a permanent cut (or what happens instead);
- what the local side shows when the remote calls ``close()``;
- false ``disconnected`` over LOSS_FOR s at 30 % loss both ways;
- keepalive (STUN binding) requests per second sent by the local side on a
  healthy idle connection.

    python benchmarks/detection/liveness.py            # about 3 minutes
    python benchmarks/detection/liveness.py --quick    # fewer trials, shorter waits
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import webrtc
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import rtcstate
from rtcstate.testing import FaultyLink

KINDS = ("aiortc", "rtcstate", "libwebrtc")


@dataclass
class Side:
    kind: str
    pc: object
    events: list[tuple[float, str]] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.kind == "libwebrtc":
            return str(self.pc.connection_state.value)  # type: ignore[attr-defined]
        return str(self.pc.connectionState)  # type: ignore[attr-defined]

    def first(self, states: tuple[str, ...], after: float) -> float | None:
        return next(
            (t - after for t, s in self.events if t >= after and s in states), None
        )

    async def close(self) -> None:
        if self.kind == "libwebrtc":
            self.pc.close()  # type: ignore[attr-defined]
        else:
            await self.pc.close()  # type: ignore[attr-defined]


def make(kind: str) -> Side:
    loop = asyncio.get_running_loop()
    if kind == "libwebrtc":
        pc = webrtc.RTCPeerConnection(webrtc.RTCConfiguration(ice_servers=[]))
        side = Side(kind, pc)
        pc.on(
            "connectionstatechange",
            lambda _e: side.events.append((loop.time(), pc.connection_state.value)),
        )
        return side
    cls = rtcstate.PeerConnection if kind == "rtcstate" else RTCPeerConnection
    apc = cls(RTCConfiguration(iceServers=[]))
    side = Side(kind, apc)
    apc.on(
        "connectionstatechange",
        lambda: side.events.append((loop.time(), apc.connectionState)),
    )
    return side


async def gathered(pc: webrtc.RTCPeerConnection) -> str:
    done = asyncio.Event()
    pc.on(
        "icegatheringstatechange",
        lambda _e: pc.ice_gathering_state == "complete" and done.set(),
    )
    if pc.ice_gathering_state != "complete":
        await asyncio.wait_for(done.wait(), 10)
    return str(pc.local_description.sdp)


async def connect(local: Side, remote: Side, link: FaultyLink) -> None:
    # local offers (with a data channel), remote answers
    if local.kind == "libwebrtc":
        local.pc.create_data_channel("x")  # type: ignore[attr-defined]
        await local.pc.set_local_description(await local.pc.create_offer())  # type: ignore[attr-defined]
        offer = RTCSessionDescription(await gathered(local.pc), "offer")  # type: ignore[arg-type]
    else:
        local.pc.createDataChannel("x")  # type: ignore[attr-defined]
        await local.pc.setLocalDescription(await local.pc.createOffer())  # type: ignore[attr-defined]
        offer = local.pc.localDescription  # type: ignore[attr-defined]
    offer = link.offer_to_answerer(offer)
    if remote.kind == "libwebrtc":
        rpc = remote.pc
        await rpc.set_remote_description(
            webrtc.RTCSessionDescriptionInit("offer", offer.sdp)
        )  # type: ignore[attr-defined]
        await rpc.set_local_description(await rpc.create_answer())  # type: ignore[attr-defined]
        answer = RTCSessionDescription(await gathered(rpc), "answer")  # type: ignore[arg-type]
    else:
        await remote.pc.setRemoteDescription(offer)  # type: ignore[attr-defined]
        await remote.pc.setLocalDescription(await remote.pc.createAnswer())  # type: ignore[attr-defined]
        answer = remote.pc.localDescription  # type: ignore[attr-defined]
    answer = link.answer_to_offerer(answer)
    if local.kind == "libwebrtc":
        await local.pc.set_remote_description(  # type: ignore[attr-defined]
            webrtc.RTCSessionDescriptionInit("answer", answer.sdp)
        )
    else:
        await local.pc.setRemoteDescription(answer)  # type: ignore[attr-defined]
    for _ in range(500):
        if local.state == "connected" and remote.state == "connected":
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{local.kind} -> {remote.kind} did not connect")


@dataclass
class Run:
    local: Side
    remote: Side
    link: FaultyLink


async def with_pairs(
    body: Callable[[Run], Awaitable[object]],
) -> dict[tuple[str, str], object]:
    runs: dict[tuple[str, str], Run] = {}
    try:
        for lk in KINDS:
            for rk in KINDS:
                link = await FaultyLink(seed=hash((lk, rk)) & 0xFFFF).start()
                run = Run(make(lk), make(rk), link)
                runs[(lk, rk)] = run
                await connect(run.local, run.remote, link)
        results = await asyncio.gather(*(body(run) for run in runs.values()))
        return dict(zip(runs, results, strict=True))
    finally:
        for run in runs.values():
            with contextlib.suppress(Exception):
                await run.local.close()
            with contextlib.suppress(Exception):
                await run.remote.close()
            run.link.close()


def fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


async def main(quick: bool) -> None:
    trials, cut_for, fail_wait, close_wait, loss_for, idle_for = (
        (2, 4.0, 20.0, 17.0, 10.0, 5.0) if quick else (5, 8.0, 40.0, 20.0, 30.0, 30.0)
    )
    loop = asyncio.get_running_loop()

    async def cuts(run: Run) -> tuple[list[float | None], list[float | None]]:
        down, back = [], []
        for _ in range(trials):
            start = loop.time()
            run.link.cut()
            await asyncio.sleep(cut_for)
            down.append(run.local.first(("disconnected",), start))
            restored = loop.time()
            run.link.restore()
            await asyncio.sleep(3.0)
            back.append(
                run.local.first(("connected",), restored)
                if down[-1] is not None
                else None
            )
        return down, back

    async def permanent(run: Run) -> str:
        start = loop.time()
        run.link.cut()
        await asyncio.sleep(fail_wait)
        failed = run.local.first(("failed",), start)
        closed = run.local.first(("closed",), start)
        if failed is not None:
            return f"failed {failed:.2f}"
        return f"closed {closed:.2f}, never failed" if closed is not None else "never"

    async def remote_close(run: Run) -> str:
        start = loop.time()
        await run.remote.close()
        await asyncio.sleep(close_wait)
        seen = [(t - start, s) for t, s in run.local.events if t >= start]
        return ", ".join(f"{s} {t:.2f}" for t, s in seen) or "nothing"

    async def lossy(run: Run) -> int:
        start = loop.time()
        run.link.set_loss(0.3)
        await asyncio.sleep(loss_for)
        return sum(1 for t, s in run.local.events if t >= start and s == "disconnected")

    async def idle(run: Run) -> float:
        before = run.link.to_answerer.stun_requests
        await asyncio.sleep(idle_for)
        return (run.link.to_answerer.stun_requests - before) / idle_for

    print(
        f"# rtcstate {rtcstate.__version__}, {trials} trials, cut {cut_for} s",
        flush=True,
    )
    cut_results = await with_pairs(cuts)
    print("cuts done", flush=True, file=sys.stderr)
    fail_results = await with_pairs(permanent)
    print("permanent cuts done", flush=True, file=sys.stderr)
    close_results = await with_pairs(remote_close)
    print("remote close done", flush=True, file=sys.stderr)
    loss_results = await with_pairs(lossy)
    idle_results = await with_pairs(idle)

    print()
    print(
        "| local | remote | disconnected after cut (median, min-max) "
        "| back to connected (median) | failed on permanent cut | remote close() "
        "| false disconnects, "
        f"{loss_for:.0f} s at 30 % loss | keepalive requests/s idle |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key in cut_results:
        down, back = cut_results[key]  # type: ignore[misc]
        seen = [d for d in down if d is not None]
        back_seen = [b for b in back if b is not None]
        down_text = (
            f"{statistics.median(seen):.2f} ({min(seen):.2f}-{max(seen):.2f}), "
            f"{len(seen)}/{len(down)}"
            if seen
            else "never"
        )
        back_text = f"{statistics.median(back_seen):.3f}" if back_seen else "-"
        print(
            f"| {key[0]} | {key[1]} | {down_text} | {back_text} "
            f"| {fail_results[key]} | {close_results[key]} | {loss_results[key]} "
            f"| {idle_results[key]:.2f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer trials, shorter waits"
    )
    args = parser.parse_args()
    webrtc.allow_loopback()
    asyncio.run(main(args.quick))
