"""`rtcstate demo`: two peers over loopback, a live timeline of their states.

The peers talk through a [`FaultyLink`][rtcstate.testing.FaultyLink] on 127.0.0.1, so
faults can be injected: `--cut-after 3 --cut-for 4` shows `disconnected`,
then `connected` again; `--cut-for 20` shows `failed`; `--loss 0.3`
shows that loss alone is not a disconnection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from dataclasses import asdict
from typing import Any, TextIO

from aiortc import RTCConfiguration

from .._events import SelectedCandidatePair, StateChange, TransportChange
from .._feed import UnreachableStateError
from .._peerconnection import PeerConnection
from .._recovery import recover
from ..liveness import LivenessConfig
from ..testing import FaultyLink
from .timeline import pair_record

CONNECT_TIMEOUT = 10.0
DEFAULT_CUT_AFTER = 2.0
"""a cut asked for with --cut-for alone starts this long after connecting"""
DEFAULT_CUT_FOR = 4.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cut-after",
        type=float,
        metavar="S",
        help=f"cut the link S seconds after connecting (default {DEFAULT_CUT_AFTER:g} "
        "when --cut-for is given, else no cut)",
    )
    parser.add_argument(
        "--cut-for",
        type=float,
        metavar="S",
        help=f"for S seconds (default {DEFAULT_CUT_FOR:g})",
    )
    parser.add_argument(
        "--loss", type=float, default=0.0, metavar="P", help="random loss rate, 0 to 1"
    )
    parser.add_argument(
        "--hang-up-after",
        type=float,
        metavar="S",
        help="the answerer calls close() after S seconds (a remote hang-up)",
    )
    parser.add_argument(
        "--move-after",
        type=float,
        metavar="S",
        help="move the path for good S seconds after connecting (as a change of "
        "network: only an ICE restart gets through again)",
    )
    parser.add_argument(
        "--recover",
        action="store_true",
        help="run rtcstate.recover() on the offerer: ICE restarts after a loss",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="how long to run once connected (default: until the fault is over + 3 s;"
        " a longer fault extends it)",
    )
    parser.add_argument(
        "--loopback",
        choices=["auto", "always", "never"],
        default="auto",
        help="offer 127.0.0.1 candidates (default auto: if there is no other address)",
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON lines instead of text"
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for option in (
        "cut_after",
        "cut_for",
        "loss",
        "hang_up_after",
        "move_after",
        "duration",
    ):
        value = getattr(args, option)
        if value is not None and not math.isfinite(value):
            name = "--" + option.replace("_", "-")
            parser.error(f"{name} must be a finite number, not {value}")
    if args.cut_for is not None and args.cut_after is None:
        args.cut_after = DEFAULT_CUT_AFTER  # --cut-for alone asks for a cut
    if args.cut_for is None:
        args.cut_for = DEFAULT_CUT_FOR
    if args.cut_after is not None and args.cut_after < 0:
        parser.error("--cut-after must be >= 0")
    if args.cut_for <= 0:
        parser.error("--cut-for must be > 0")
    if not 0 <= args.loss <= 1:
        parser.error("--loss must be between 0 and 1")
    if args.hang_up_after is not None and args.hang_up_after < 0:
        parser.error("--hang-up-after must be >= 0")
    if args.move_after is not None and args.move_after < 0:
        parser.error("--move-after must be >= 0")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be > 0")


class Printer:
    """Prints each change as it happens, as text or JSON lines."""

    def __init__(self, out: TextIO, as_json: bool, start: float) -> None:
        self.out = out
        self.as_json = as_json
        self.start = start
        self.done = False  # the peers' own closing is not part of the show

    def state(self, peer: str, change: StateChange) -> None:
        if self.done:
            return
        t = change.time - self.start
        if self.as_json:
            self._json(
                {
                    "type": "state",
                    "t": round(t, 4),
                    "peer": peer,
                    "attribute": change.attribute,
                    "previous": str(change.previous),
                    "current": str(change.current),
                    "cause": asdict(change.cause),
                }
            )
        else:
            self._line(
                f"{t:8.3f}s  {peer:8}  {change.attribute:18} {change.previous!s:>12}"
                f" -> {change.current!s:<12}  because {change.cause}"
            )

    def transport(self, peer: str, change: TransportChange) -> None:
        if self.done:
            return
        t = change.time - self.start
        if self.as_json:
            record = {k: v for k, v in asdict(change).items() if k != "time"}
            self._json({"type": "transport", "t": round(t, 4), "peer": peer, **record})
        else:
            detail = f"  ({change.detail})" if change.detail else ""
            self._line(
                f"{t:8.3f}s  {peer:8}    {change.transport:16} "
                f"{change.previous:>12} -> {change.current}{detail}"
            )

    def pair(self, peer: str, pair: SelectedCandidatePair, kind: str = "pair") -> None:
        """A change of the selected pair or, with `kind="rtt"`, a round-trip
        sample (JSON only: one a second would drown the text)."""
        if self.done:
            return
        if self.as_json:
            self._json(pair_record(pair, peer, self.start, kind))
        elif kind == "pair":
            self._line(
                f"{pair.time - self.start:8.3f}s  {peer:8}    {pair.transport:16} "
                f"selected pair {pair.local} -> {pair.remote}"
            )

    def note(self, t: float, text: str) -> None:
        if self.as_json:
            self._json({"type": "note", "t": round(t - self.start, 4), "text": text})
        else:
            self._line(f"{t - self.start:8.3f}s  -- {text}")

    def _line(self, text: str) -> None:
        self._write(text)

    def _json(self, record: dict[str, Any]) -> None:
        self._write(json.dumps(record))

    def _write(self, text: str) -> None:
        if self.done:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:  # the reader went away (| head): stay quiet
            self.done = True


def _follow(pc: PeerConnection, peer: str, printer: Printer) -> None:
    pc.on("transportstatechange", lambda change: printer.transport(peer, change))
    pc.on("iceconnectionstatechange", lambda change: printer.state(peer, change))
    pc.on("connectionstatechange", lambda change: printer.state(peer, change))
    pc.on("selectedcandidatepairchange", lambda pair: printer.pair(peer, pair))


async def _sample_round_trips(
    peers: dict[str, PeerConnection], printer: Printer, interval: float = 0.05
) -> None:
    """Print each new round trip of every peer's selected pair (a sample is new
    when the keepalive's answer changed it; read every `interval` seconds)."""
    last: dict[str, float | None] = {}
    while not printer.done:
        for name, pc in peers.items():
            sctp = pc.sctp
            if sctp is None:
                continue
            try:
                pair = pc.get_selected_candidate_pair(sctp.transport.transport)
            except ValueError:  # not negotiated yet: not a counted transport
                continue
            if pair is None or pair.current_round_trip_time is None:
                continue
            if last.get(name) != pair.current_round_trip_time:
                last[name] = pair.current_round_trip_time
                printer.pair(name, pair, "rtt")
        await asyncio.sleep(interval)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the demo; return the process exit code."""
    loop = asyncio.get_running_loop()
    printer = Printer(out, args.json, loop.time())
    config = RTCConfiguration(iceServers=[])  # nothing leaves this machine
    offerer = PeerConnection(config, liveness=LivenessConfig(), loopback=args.loopback)
    answerer = PeerConnection(config, liveness=LivenessConfig(), loopback=args.loopback)
    _follow(offerer, "offerer", printer)
    _follow(answerer, "answerer", printer)
    link = await FaultyLink().start()
    closing: list[asyncio.Future[None]] = []
    moves: list[asyncio.Future[None]] = []
    sampler = asyncio.ensure_future(
        _sample_round_trips({"offerer": offerer, "answerer": answerer}, printer)
    )
    try:
        offerer.createDataChannel("demo")
        await offerer.setLocalDescription(await offerer.createOffer())
        try:
            offer = link.offer_to_answerer(offerer.localDescription)
        except ValueError:
            return _fail(printer, "the offerer gathered no IPv4 candidate", args)
        await answerer.setRemoteDescription(offer)
        await answerer.setLocalDescription(await answerer.createAnswer())
        try:
            answer = link.answer_to_offerer(answerer.localDescription)
        except ValueError:
            return _fail(printer, "the answerer gathered no IPv4 candidate", args)
        if args.loss:
            link.set_loss(args.loss)
            printer.note(loop.time(), f"{args.loss:.0%} random loss in both directions")
        await offerer.setRemoteDescription(answer)
        try:
            await offerer.wait_for_connection_state(
                "connected", timeout=CONNECT_TIMEOUT
            )
            await answerer.wait_for_connection_state(
                "connected", timeout=CONNECT_TIMEOUT
            )
        except (TimeoutError, UnreachableStateError) as error:
            return _fail(
                printer, f"the peers did not connect ({error or 'timeout'})", args
            )
        connected = loop.time()
        duration = args.duration
        if duration is None:
            duration = (
                3.0 if args.cut_after is None else args.cut_after + args.cut_for + 3.0
            )
            if args.hang_up_after is not None:
                duration = max(duration, args.hang_up_after + 17.0)  # see it fail
            if args.move_after is not None:
                # see it recover, or fail
                duration = max(
                    duration, args.move_after + (6.0 if args.recover else 17.0)
                )
        if args.recover:

            async def renegotiate() -> None:
                await offerer.setLocalDescription(await offerer.createOffer())
                await answerer.setRemoteDescription(
                    link.offer_to_answerer(offerer.localDescription)
                )
                await answerer.setLocalDescription(await answerer.createAnswer())
                await offerer.setRemoteDescription(
                    link.answer_to_offerer(answerer.localDescription)
                )

            recover(offerer, renegotiate)
            printer.note(loop.time(), "recovery policy on the offerer")
        if args.move_after is not None:

            async def move() -> None:
                await link.move()
                printer.note(loop.time(), "the path moved for good")

            loop.call_later(
                args.move_after, lambda: moves.append(asyncio.ensure_future(move()))
            )
        if args.hang_up_after is not None:
            loop.call_later(args.hang_up_after, _hang_up, answerer, printer, closing)
        if args.cut_after is not None:
            await asyncio.sleep(args.cut_after)
            link.cut()
            printer.note(
                loop.time(), f"link cut in both directions for {args.cut_for:g} s"
            )
            await asyncio.sleep(args.cut_for)
            link.restore()
            printer.note(loop.time(), "link restored")
        await asyncio.sleep(max(0.0, connected + duration - loop.time()))
        final = (
            f"offerer {offerer.connectionState}, answerer {answerer.connectionState}"
        )
        if closing:
            await asyncio.gather(*closing)
        printer.note(loop.time(), f"done: {final}")
        printer.done = True
        return 0
    finally:
        sampler.cancel()
        await offerer.close()
        await answerer.close()
        link.close()


def _hang_up(
    answerer: PeerConnection, printer: Printer, closing: list[asyncio.Future[None]]
) -> None:
    printer.note(asyncio.get_running_loop().time(), "the answerer calls close()")
    closing.append(asyncio.ensure_future(answerer.close()))
    # close() fires no event (webrtc-pc); its changes are in the history
    for change in answerer.state_history[-2:]:
        if change.cause.kind == "close":
            printer.state("answerer", change)


def _fail(printer: Printer, reason: str, args: argparse.Namespace) -> int:
    hint = (
        " This host may have no address but loopback: try --loopback auto."
        if args.loopback == "never"
        else ""
    )
    message = f"rtcstate demo: {reason}.{hint}"
    if args.json:
        printer._json({"type": "error", "text": message})
    print(message, file=sys.stderr, flush=True)
    return 1
