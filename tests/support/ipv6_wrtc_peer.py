"""libwebrtc (PyPI ``wrtc``) as the answering peer, in a process of its own.

Run by tests/support/ipv6_peers.py inside host B's namespace, from the
repository's root::

    ip netns exec B python -m tests.support.ipv6_wrtc_peer

libwebrtc makes its sockets, and reads the interfaces it gathers, on threads of
its own: entering a namespace on the Python thread would not move them, so this
peer is a whole process started inside B. It speaks JSON lines.

On stdin, one command a line:

* ``{"offer": SDP}``: answer it; prints ``{"answer": SDP, "candidates": [...]}``
  once gathering is complete, the SDP keeping only its IPv6 UDP candidates and
  ``candidates`` listing the addresses of all it gathered;
* ``{"send": TEXT}``: send TEXT on the data channel the offer opened;
* ``{"pair": null}``: prints ``{"pair": {"local": [ADDR, PORT], "remote": [...]}}``,
  the selected candidate pair of its stats (``null`` without one);
* ``{"close": null}``, or the end of stdin: close the connection and exit.

On stdout, besides those answers: ``{"ready": true}`` once libwebrtc is loaded,
``{"state": STATE, "t": T}`` for each ``connectionState`` change,
``{"ice": STATE, "t": T}`` for each ``iceConnectionState`` change, ``{"open": T}``
when the data channel opens, ``{"message": TEXT}`` for each message received,
and ``{"error": TEXT}`` when a command fails. ``T`` is ``time.monotonic()``,
the clock of the parent's event loop too. The process exits by itself after
``--deadline`` seconds, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from typing import Any

import webrtc

GATHER_TIMEOUT = 10.0


def say(**message: Any) -> None:
    print(json.dumps(message), flush=True)


def ipv6_udp_only(sdp: str) -> str:
    """``sdp`` without its IPv4 and TCP candidates."""
    keep = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if fields[2].lower() != "udp" or ":" not in fields[4]:
                continue
        keep.append(line)
    return "\r\n".join(keep) + "\r\n"


def candidates(sdp: str) -> list[str]:
    return [
        line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")
    ]


class Peer:
    def __init__(self) -> None:
        self.pc = webrtc.RTCPeerConnection(webrtc.RTCConfiguration(ice_servers=[]))
        self.channel: Any = None
        self.pc.on(
            "connectionstatechange",
            lambda _e: say(state=self.pc.connection_state.value, t=time.monotonic()),
        )
        self.pc.on(
            "iceconnectionstatechange",
            lambda _e: say(ice=self.pc.ice_connection_state.value, t=time.monotonic()),
        )
        self.pc.on("datachannel", lambda event: self.attach(event.channel))

    def attach(self, channel: Any) -> None:
        self.channel = channel
        channel.on("open", lambda _e: say(open=time.monotonic()))
        channel.on("message", lambda event: say(message=str(event.data)))
        if channel.ready_state.value == "open":
            say(open=time.monotonic())

    async def answer(self, offer: str) -> None:
        pc = self.pc
        await pc.set_remote_description(
            webrtc.RTCSessionDescriptionInit("offer", offer)
        )
        await pc.set_local_description(await pc.create_answer())
        done = asyncio.Event()
        pc.on(
            "icegatheringstatechange",
            lambda _e: pc.ice_gathering_state.value == "complete" and done.set(),
        )
        if pc.ice_gathering_state.value != "complete":
            await asyncio.wait_for(done.wait(), GATHER_TIMEOUT)
        sdp = str(pc.local_description.sdp)
        say(answer=ipv6_udp_only(sdp), candidates=candidates(sdp))

    async def pair(self) -> None:
        report = await self.pc.get_stats()
        for stats in report.values():
            pair_id = getattr(stats, "selected_candidate_pair_id", None)
            if stats.type == "transport" and pair_id:
                pair = report[pair_id]
                ends = [
                    report[pair.local_candidate_id],
                    report[pair.remote_candidate_id],
                ]
                say(
                    pair={
                        "local": [ends[0].address, ends[0].port],
                        "remote": [ends[1].address, ends[1].port],
                    }
                )
                return
        say(pair=None)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    peer = Peer()
    say(ready=True)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            try:
                if "offer" in command:
                    await peer.answer(command["offer"])
                elif "send" in command:
                    peer.channel.send(command["send"])
                elif "pair" in command:
                    await peer.pair()
                elif "close" in command:
                    break
            except Exception as exc:
                say(error="".join(traceback.format_exception(exc)))
    finally:
        peer.pc.close()
        say(closed=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadline", type=float, default=90.0)
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(serve(), args.deadline))
    except BaseException as exc:
        say(error="".join(traceback.format_exception(exc)))


if __name__ == "__main__":
    main()
