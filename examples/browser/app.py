"""A browser page connects to a Python rtcstate peer; both sides' states show live.

    python examples/browser/app.py            # then open http://127.0.0.1:8080/

The page offers over a WebSocket, the Python side answers, and every change of
the Python side's connectionState / iceConnectionState is pushed to the page,
which shows its own next to it. Everything listens on 127.0.0.1 only.

Either side can restart ICE: the page's "restart ICE" buttons call the browser's
``pc.restartIce()`` (the page re-offers, Python answers) or ask the Python side
to call its own (Python offers, the page answers). The data channel carries on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import RTCConfiguration, RTCSessionDescription

import rtcstate

PAGE = Path(__file__).with_name("index.html")
PEERS = web.AppKey("peers", list[rtcstate.PeerConnection])


Rewrite = Callable[[RTCSessionDescription], RTCSessionDescription]


def _unchanged(description: RTCSessionDescription) -> RTCSessionDescription:
    return description


def make_app(
    liveness: rtcstate.LivenessConfig | None = None,
    *,
    from_page: Rewrite = _unchanged,
    to_page: Rewrite = _unchanged,
) -> web.Application:
    """The aiohttp application. ``app[PEERS]`` lists the Python peers it made.

    ``from_page`` / ``to_page`` rewrite each description on its way from / to
    the page (the tests route the path through a relay that way).
    """
    liveness = liveness or rtcstate.LivenessConfig()
    app = web.Application()
    app[PEERS] = []

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE)

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        pc = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]), liveness=liveness)
        app[PEERS].append(pc)
        tasks: set[asyncio.Task[None]] = set()
        signalling = asyncio.Lock()  # one offer/answer exchange at a time

        def later(coroutine: Coroutine[Any, Any, None]) -> None:
            task = asyncio.ensure_future(coroutine)
            tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(tasks.discard)

        async def send(message: dict[str, str]) -> None:
            if not ws.closed:
                await ws.send_str(json.dumps(message))

        def push(change: rtcstate.StateChange) -> None:
            later(
                send(
                    {
                        "type": "state",
                        "attribute": change.attribute,
                        "current": str(change.current),
                        "cause": str(change.cause),
                    }
                )
            )

        async def offer() -> None:
            # Python's restartIce(): the offer carries new ICE credentials
            async with signalling:
                if pc.signalingState != "stable" or ws.closed:
                    return
                await pc.setLocalDescription(await pc.createOffer())
                description = to_page(pc.localDescription)
                await send({"type": "offer", "sdp": description.sdp})

        pc.on("connectionstatechange", push)
        pc.on("iceconnectionstatechange", push)
        pc.on("negotiationneeded", lambda: later(offer()))

        @pc.on("datachannel")
        def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
            channel.on("message", lambda m: channel.send(f"python got: {m}"))

        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            kind = data.get("type")
            if kind == "offer":
                # the first offer, or the browser's restartIce(): a remote
                # offer with new ICE credentials restarts ICE here too
                async with signalling:
                    description = RTCSessionDescription(data["sdp"], "offer")
                    await pc.setRemoteDescription(from_page(description))
                    await pc.setLocalDescription(await pc.createAnswer())
                    answer = to_page(pc.localDescription)
                    await send({"type": "answer", "sdp": answer.sdp})
            elif kind == "answer" and pc.signalingState == "have-local-offer":
                description = RTCSessionDescription(data["sdp"], "answer")
                await pc.setRemoteDescription(from_page(description))
            elif kind == "restart-ice":
                pc.restartIce()  # "negotiationneeded" sends the offer
        # The page went away: the WebSocket closed, but the peer connection
        # follows its transports (disconnected, then failed), as in a browser.
        return ws

    async def on_shutdown(app: web.Application) -> None:
        for pc in app[PEERS]:
            await pc.close()

    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.on_shutdown.append(on_shutdown)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
