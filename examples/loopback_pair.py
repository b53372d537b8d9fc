"""Two rtcstate peers in one process, connected over loopback with a data channel.

Prints every state change of both sides with its time and cause, then closes.

    python examples/loopback_pair.py
"""

from __future__ import annotations

import asyncio
import sys

from aiortc import RTCConfiguration

import rtcstate


def log_changes(name: str, pc: rtcstate.PeerConnection, start: float) -> None:
    @pc.on("iceconnectionstatechange")
    @pc.on("connectionstatechange")
    def on_change(change: rtcstate.StateChange) -> None:
        print(
            f"{change.time - start:7.3f}s  {name:8} {change.attribute:18} "
            f"{change.previous!s:>12} -> {change.current!s:<12} cause: {change.cause}"
        )


async def main() -> int:
    # No STUN server: everything stays on this machine.
    config = RTCConfiguration(iceServers=[])
    offerer = rtcstate.PeerConnection(config)
    answerer = rtcstate.PeerConnection(config)
    start = asyncio.get_running_loop().time()
    log_changes("offerer", offerer, start)
    log_changes("answerer", answerer, start)

    got_message = asyncio.get_running_loop().create_future()

    @answerer.on("datachannel")
    def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
        channel.on("message", lambda m: got_message.done() or got_message.set_result(m))

    channel = offerer.createDataChannel("chat")
    channel.on("open", lambda: channel.send("hello over loopback"))

    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)

    try:
        await offerer.wait_for_connection_state("connected", timeout=10)
        await answerer.wait_for_connection_state("connected", timeout=10)
        print("message received:", await asyncio.wait_for(got_message, 10))
    except (TimeoutError, rtcstate.UnreachableStateError) as error:
        print(f"the peers did not connect: {error!r}", file=sys.stderr)
        return 1
    finally:
        await offerer.close()
        await answerer.close()
    print(
        f"after close(): offerer {offerer.connectionState}, "
        f"answerer {answerer.connectionState}"
    )
    print("offerer history:")
    for change in offerer.state_history:
        print(f"  {change}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
