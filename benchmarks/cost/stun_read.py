"""Reading and building one keepalive or one answer: rtcstate's hand-written STUN
against aioice's, alternated in one process.

Each message is what an aioice or libwebrtc peer sends on an idle connection:
the answer to a keepalive (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT)
and a keepalive (USERNAME, PRIORITY, a role, MESSAGE-INTEGRITY, FINGERPRINT).

- read: "hand" is ``rtcstate._stun.authenticated`` (the route every such message
  takes); "aioice" is ``stun.parse_message`` followed by
  ``check_message_integrity``, what the hand reader falls back to for any other
  form.
- built: "hand" is ``rtcstate._stun.binding_request`` / ``binding_response`` with
  the password prepared once, as the selected pair's tap calls them; "aioice"
  is its ``Message`` with the same attributes, signed as
  ``StunProtocol.request`` and ``request_received`` sign it. Both give the
  same bytes.

Median over rounds of the time per message, in microseconds.

    python benchmarks/cost/stun_read.py [--rounds 15] [--number 20000]
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
USERNAME = "locl:remt"
PRIORITY = 1853824767
TIE_BREAKER = 2**63
ADDRESS = ("192.0.2.1", 50000)


def aioice_answer() -> bytes:
    """As aioice's request_received builds it (add_message_integrity adds the
    FINGERPRINT too)."""
    answer = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, TRANSACTION)
    answer.attributes["XOR-MAPPED-ADDRESS"] = ADDRESS
    answer.add_message_integrity(PASSWORD.encode())
    return bytes(answer)


def aioice_keepalive() -> bytes:
    """As aioice's build_request and StunProtocol.request build it
    (add_message_integrity adds the FINGERPRINT too)."""
    check = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, TRANSACTION)
    check.attributes["USERNAME"] = USERNAME
    check.attributes["PRIORITY"] = PRIORITY
    check.attributes["ICE-CONTROLLING"] = TIE_BREAKER
    check.add_message_integrity(PASSWORD.encode())
    return bytes(check)


def messages() -> dict[str, bytes]:
    return {"answer": aioice_answer(), "keepalive": aioice_keepalive()}


def readers() -> dict[str, Callable[[bytes], Any]]:
    mac = codec.Macs()

    def hand(data: bytes) -> Any:
        return codec.authenticated(data, PASSWORD, mac)

    def aioice(data: bytes) -> Any:
        message = stun.parse_message(data)
        return message.check_message_integrity(PASSWORD.encode("utf8")) and message

    return {"hand": hand, "aioice": aioice}


def builders() -> dict[str, dict[str, Callable[[], bytes]]]:
    mac = codec.Macs()

    def hand_keepalive() -> bytes:
        return codec.binding_request(
            TRANSACTION,
            username=USERNAME,
            priority=PRIORITY,
            controlling=True,
            tie_breaker=TIE_BREAKER,
            key=mac(PASSWORD),
        )

    def hand_answer() -> bytes:
        return codec.binding_response(TRANSACTION, ADDRESS, mac(PASSWORD))

    return {
        "keepalive": {"hand": hand_keepalive, "aioice": aioice_keepalive},
        "answer": {"hand": hand_answer, "aioice": aioice_answer},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rounds", type=int, default=15, help="timings of each case, alternating"
    )
    parser.add_argument(
        "--number", type=int, default=20000, help="calls timed in each round"
    )
    args = parser.parse_args()
    data, read = messages(), readers()
    for name, message in data.items():  # both read it, and alike
        hand, theirs = read["hand"](message), read["aioice"](message)
        assert hand is not None, name
        assert theirs, name
        assert set(hand) == set(theirs.attributes), name
    build = builders()
    for name, makers in build.items():  # both build it, byte for byte
        assert makers["hand"]() == makers["aioice"]() == data[name], name
    # (operation, message) -> {"hand": f, "aioice": f}, each f taking no argument
    cases: dict[tuple[str, str], dict[str, Callable[[], Any]]] = {}
    for kind, message in data.items():
        cases[("read", kind)] = {
            name: functools.partial(reader, message) for name, reader in read.items()
        }
    for kind, makers in build.items():
        cases[("built", kind)] = makers
    times: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(args.rounds):
        for (operation, kind), functions in cases.items():
            for name, function in functions.items():  # alternated, A then B
                seconds = timeit.timeit(function, number=args.number)
                times.setdefault((operation, kind, name), []).append(
                    seconds / args.number
                )
    print("| message | hand (us) | aioice (us) | aioice / hand |")
    print("|---|---|---|---|")
    for operation, kind in cases:
        hand = statistics.median(times[(operation, kind, "hand")]) * 1e6
        theirs = statistics.median(times[(operation, kind, "aioice")]) * 1e6
        label = f"{kind} {operation}"
        print(f"| {label} | {hand:.2f} | {theirs:.2f} | {theirs / hand:.1f} |")


if __name__ == "__main__":
    main()
