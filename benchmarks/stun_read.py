"""Reading one keepalive or one answer: rtcstate's hand reader against aioice's
parser, alternated in one process.

Each message is what an aioice or libwebrtc peer sends on an idle connection:
the answer to our keepalive (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY,
FINGERPRINT) and the remote's keepalive (USERNAME, PRIORITY, a role,
MESSAGE-INTEGRITY, FINGERPRINT). "hand" is ``rtcstate.stun.authenticated`` (the
route every such message takes); "aioice" is ``stun.parse_message`` followed by
``check_message_integrity``, what the hand reader falls back to for any other
form. Median over rounds of the time per message, in microseconds.

    python benchmarks/stun_read.py [--rounds 15] [--number 20000]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import aioice.stun as stun

from rtcstate import stun as codec

PASSWORD = "p" * 24
TRANSACTION = b"keepalive-01"


def messages() -> dict[str, bytes]:
    answer = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, TRANSACTION)
    answer.attributes["XOR-MAPPED-ADDRESS"] = ("192.0.2.1", 50000)
    answer.add_message_integrity(PASSWORD.encode())
    answer.add_fingerprint()
    check = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, TRANSACTION)
    check.attributes["USERNAME"] = "locl:remt"
    check.attributes["PRIORITY"] = 1853824767
    check.attributes["ICE-CONTROLLING"] = 2**63
    check.add_message_integrity(PASSWORD.encode())
    check.add_fingerprint()
    return {"answer": bytes(answer), "keepalive": bytes(check)}


def readers() -> dict[str, Callable[[bytes], Any]]:
    mac = codec.Macs()

    def hand(data: bytes) -> Any:
        return codec.authenticated(data, PASSWORD, mac)

    def aioice(data: bytes) -> Any:
        message = stun.parse_message(data)
        return message.check_message_integrity(PASSWORD.encode("utf8")) and message

    return {"hand": hand, "aioice": aioice}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    data, read = messages(), readers()
    for name, message in data.items():  # both read it, and alike
        hand, theirs = read["hand"](message), read["aioice"](message)
        assert hand is not None, name
        assert theirs, name
        assert set(hand) == set(theirs.attributes), name
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for kind, message in data.items():
            for name, reader in read.items():  # alternated, A then B
                seconds = timeit.timeit(
                    functools.partial(reader, message), number=args.number
                )
                times.setdefault((kind, name), []).append(seconds / args.number)
    print("| message | hand (us) | aioice (us) | aioice / hand |")
    print("|---|---|---|---|")
    for kind in data:
        hand = statistics.median(times[(kind, "hand")]) * 1e6
        theirs = statistics.median(times[(kind, "aioice")]) * 1e6
        print(f"| {kind} | {hand:.2f} | {theirs:.2f} | {theirs / hand:.1f} |")


if __name__ == "__main__":
    main()
