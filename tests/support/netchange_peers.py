"""An rtcstate peer and a remote inside one network namespace, and the local address
of the selected pair taken away, as when a laptop leaves a Wi-Fi network.

Run by tests/test_netchange.py (and benchmarks/detection/netchange.py), from the
repository's root, as
``ip netns exec NS python -m tests.support.netchange_peers [--no-monitor]
[--change remove|readd|flap|newif] [--remote rtcstate|libwebrtc]``.

The namespace has two veth pairs, ``wifi`` (10.71.0.1) with ``wifi-peer``
(10.71.0.2), and ``cell`` (10.72.0.1) with ``cell-peer`` (10.72.0.2), all up. Peer A
(rtcstate) gathers on ``wifi`` only at first, then on ``cell`` too. Peer B is
rtcstate on the two ``-peer`` ends, or libwebrtc (PyPI ``wrtc``) on every address,
its UDP IPv4 candidates kept. Once they are connected (over wifi), with
`rtcstate.recover()` running on A, the script changes wifi (``--change``: removes
10.71.0.1, removes it and adds it back, sets the link down and up, or removes it
while cell has no address yet) and times A's ``disconnected`` and ``connected``
again, sending numbered messages on a data channel throughout. With
``--no-monitor`` the process's network monitor is replaced by one that never
looks, so only liveness notices. It prints one JSON object; a failed step is
reported in ``"error"``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
from typing import Any

from aiortc import RTCConfiguration

import rtcstate
from rtcstate import _netmon
from rtcstate.testing import negotiate

B_INTERFACES = ("wifi-peer", "cell-peer")
#: what happens to wifi: its address removed; removed and added again 0.3 s
#: later; the link down and up again 0.3 s later
CHANGES = {
    "remove": ["address del 10.71.0.1/24 dev wifi"],
    "readd": [
        "address del 10.71.0.1/24 dev wifi",
        "pause",
        "address add 10.71.0.1/24 dev wifi",
    ],
    "flap": ["link set wifi down", "pause", "link set wifi up"],
    # cell has no address until 2.5 s after wifi's went: the first attempt
    # (2 s) fails, and cell's address ends the back-off (5 s) at once
    "newif": [
        "address del 10.71.0.1/24 dev wifi",
        "pause 2.5",
        "address add 10.72.0.1/24 dev cell",
    ],
}
#: what recover() is given, per change
RECOVERY = {"newif": {"timeout": 2.0, "backoff": 5.0}}


async def _ip(step: str) -> None:
    ip = await asyncio.create_subprocess_exec("ip", *step.split())
    assert await asyncio.wait_for(ip.wait(), 10) == 0, step


async def scenario(change: str, remote: str, result: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    allowed = {"wifi"}
    config = RTCConfiguration(iceServers=[])
    a = rtcstate.PeerConnection(
        config, loopback="never", address_filter=lambda name, _: name in allowed
    )
    received: list[int] = []
    b: Any
    mangle: Any = None
    if remote == "libwebrtc":
        from tests.support.libwebrtc import Libwebrtc, libwebrtc_peer, udp_ipv4_only

        b, mangle = Libwebrtc(libwebrtc_peer()), udp_ipv4_only
        b.pc.on(
            "datachannel",
            lambda event: event.channel.on(
                "message", lambda message: received.append(int(message.data))
            ),
        )
    else:
        b = rtcstate.PeerConnection(
            config,
            loopback="never",
            address_filter=lambda name, _: name in B_INTERFACES,
        )
        b.on(
            "datachannel",
            lambda channel: channel.on(
                "message", lambda message: received.append(int(message))
            ),
        )
    path_lost: list[str] = []
    a.on("pathlost", lambda change: path_lost.append(change.detail))
    channel = a.createDataChannel("numbers")

    try:
        if change == "newif":  # cell has no address to start with
            await _ip("address del 10.72.0.1/24 dev cell")
        await negotiate(a, b, mangle_answer=mangle)
        await a.wait_for_connection_state("connected", timeout=10)
        pair = a.get_selected_candidate_pair(a.sctp.transport)
        result["before"] = pair.local.address if pair else None

        async def renegotiate() -> None:
            await negotiate(a, b, mangle_answer=mangle)

        recovery = rtcstate.recover(a, renegotiate, **RECOVERY.get(change, {}))
        allowed.add("cell")
        sent = 0

        done = asyncio.Event()

        async def send() -> None:  # bounded: 400 messages, 10 s
            nonlocal sent
            for _ in range(400):
                if done.is_set():
                    return
                if channel.readyState == "open":
                    channel.send(str(sent))
                    sent += 1
                await asyncio.sleep(0.025)

        sender = asyncio.ensure_future(send())
        await asyncio.sleep(0.5)
        removed = loop.time()
        for step in CHANGES[change]:
            if step.startswith("pause"):
                await asyncio.sleep(float(step.split()[1]) if " " in step else 0.3)
                continue
            await _ip(step)
        # the history has each change's time: the repair may be over before
        # this task runs again
        for _ in range(1000):  # bounded: 20 s
            changes = [
                c
                for c in a.state_history
                if c.attribute == "connectionState" and c.time >= removed
            ]
            if changes and changes[-1].current == "connected":
                break
            await asyncio.sleep(0.02)
        lost, back = changes[0], changes[-1]
        result["cause"] = str(lost.cause)
        result["disconnected"] = round(lost.time - removed, 3)
        result["connected"] = round(back.time - removed, 3)
        pair = a.get_selected_candidate_pair(a.sctp.transport)
        result["after"] = pair.local.address if pair else None
        result["failed"] = any(
            c.current == "failed"
            for c in a.state_history
            if c.attribute == "connectionState"
        )
        await asyncio.sleep(0.5)  # messages over the new path too
        done.set()
        await sender
        for _ in range(200):  # bounded: 4 s for the last messages
            if len(received) >= sent:
                break
            await asyncio.sleep(0.02)
        result["sent"], result["received"] = sent, len(received)
        result["in_order"] = received == list(range(len(received)))
        result["pathlost"] = path_lost
        result["triggers"] = [attempt.trigger for attempt in recovery.attempts]
        result["states"] = [
            c.current for c in a.state_history if c.attribute == "connectionState"
        ]
        recovery.stop()
    finally:
        result["history"] = [str(c) for c in a.transport_history][-8:]
        await asyncio.gather(a.close(), b.close())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-monitor", action="store_true")
    parser.add_argument("--change", choices=sorted(CHANGES), default="remove")
    parser.add_argument(
        "--remote", choices=["rtcstate", "libwebrtc"], default="rtcstate"
    )
    args = parser.parse_args()
    if args.no_monitor:
        # a monitor that never looks: liveness alone notices
        _netmon._MONITOR = _netmon.NetworkMonitor(poll_interval=3600, netlink=False)
    result: dict[str, Any] = {
        "monitor": not args.no_monitor,
        "change": args.change,
        "remote": args.remote,
    }
    try:
        asyncio.run(scenario(args.change, args.remote, result))
    except Exception:
        result["error"] = traceback.format_exc()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
