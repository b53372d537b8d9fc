"""A browser page connects to a Python rtcstate peer; both sides' states show live.

    python examples/browser/app.py            # then open http://127.0.0.1:8080/

The page offers over a WebSocket, the Python side answers, and every change of
the Python side's connectionState / iceConnectionState is pushed to the page,
which shows its own next to it. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from aiohttp import WSMsgType, web
from aiortc import RTCConfiguration, RTCSessionDescription

import rtcstate

PAGE = Path(__file__).with_name("index.html")
PEERS = web.AppKey("peers", list[rtcstate.PeerConnection])


def make_app(liveness: rtcstate.LivenessConfig | None = None) -> web.Application:
    """The aiohttp application. ``app[PEERS]`` lists the Python peers it made."""
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
        pushes: set[asyncio.Task[None]] = set()

        def push(change: rtcstate.StateChange) -> None:
            if ws.closed:
                return
            message = {
                "type": "state",
                "attribute": change.attribute,
                "current": str(change.current),
                "cause": str(change.cause),
            }
            task = asyncio.ensure_future(ws.send_str(json.dumps(message)))
            pushes.add(task)  # keep a reference until it is sent
            task.add_done_callback(pushes.discard)

        pc.on("connectionstatechange", push)
        pc.on("iceconnectionstatechange", push)

        @pc.on("datachannel")
        def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
            channel.on("message", lambda m: channel.send(f"python got: {m}"))

        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data.get("type") == "offer":
                await pc.setRemoteDescription(
                    RTCSessionDescription(data["sdp"], "offer")
                )
                await pc.setLocalDescription(await pc.createAnswer())
                answer = {"type": "answer", "sdp": pc.localDescription.sdp}
                await ws.send_str(json.dumps(answer))
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
