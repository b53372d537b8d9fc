"""Offerer and answerer in two processes, exchanging SDP over pipes.

The offerer starts the answerer as a child process and talks to it over the
child's stdin/stdout, one JSON line per description. Each side prints its own
state changes (the answerer on stderr).

    python examples/two_process.py
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiortc import RTCConfiguration, RTCSessionDescription

import rtcstate

TIMEOUT = 15


def log_changes(name: str, pc: rtcstate.PeerConnection) -> None:
    def show(change: rtcstate.StateChange) -> None:
        print(
            f"[{name}] {change}", file=sys.stderr if name == "answerer" else sys.stdout
        )

    pc.on("iceconnectionstatechange", show)
    pc.on("connectionstatechange", show)


def encode(description: RTCSessionDescription) -> bytes:
    return (
        json.dumps({"type": description.type, "sdp": description.sdp}).encode() + b"\n"
    )


def decode(line: bytes) -> RTCSessionDescription:
    if not line:
        raise ConnectionError("the other process closed the pipe")
    message = json.loads(line)
    return RTCSessionDescription(sdp=message["sdp"], type=message["type"])


async def offerer() -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "answerer",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    pc = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    log_changes("offerer", pc)
    channel = pc.createDataChannel("chat")
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    channel.on("open", lambda: channel.send("ping"))
    channel.on("message", lambda m: reply.done() or reply.set_result(m))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        child.stdin.write(encode(pc.localDescription))
        await child.stdin.drain()
        answer = decode(await asyncio.wait_for(child.stdout.readline(), TIMEOUT))
        await pc.setRemoteDescription(answer)
        await pc.wait_for_connection_state("connected", timeout=TIMEOUT)
        print("[offerer] reply:", await asyncio.wait_for(reply, TIMEOUT))
        return 0
    except (TimeoutError, ConnectionError, rtcstate.UnreachableStateError) as error:
        print(f"[offerer] failed: {error!r}", file=sys.stderr)
        return 1
    finally:
        await pc.close()
        child.stdin.close()  # tells the answerer to finish
        try:
            code = await asyncio.wait_for(child.wait(), TIMEOUT)
        except TimeoutError:
            child.kill()
            code = await child.wait()
        print(f"[offerer] answerer exited with {code}")


async def answerer() -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    pc = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    log_changes("answerer", pc)

    @pc.on("datachannel")
    def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
        channel.on("message", lambda m: channel.send(f"pong ({m})"))

    try:
        await pc.setRemoteDescription(
            decode(await asyncio.wait_for(reader.readline(), TIMEOUT))
        )
        await pc.setLocalDescription(await pc.createAnswer())
        sys.stdout.buffer.write(encode(pc.localDescription))
        sys.stdout.flush()
        await pc.wait_for_connection_state("connected", timeout=TIMEOUT)
        await asyncio.wait_for(reader.read(), 60)  # until the offerer closes the pipe
        print(f"[answerer] done in state {pc.connectionState}", file=sys.stderr)
        return 0
    except (TimeoutError, ConnectionError, rtcstate.UnreachableStateError) as error:
        print(f"[answerer] failed: {error!r}", file=sys.stderr)
        return 1
    finally:
        await pc.close()


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else "offerer"
    sys.exit(asyncio.run(answerer() if role == "answerer" else offerer()))
