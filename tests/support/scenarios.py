"""Scenarios run with libwebrtc or rtcstate in the local role, against an aiortc,
rtcstate or libwebrtc remote, through a FaultyLink; each run records the local
sequences of connectionState and iceConnectionState (values only, no times).

Used by tests/test_conformance.py, and run as ``python -m tests.support.scenarios``
it prints the scenario table of docs/conformance.md. libwebrtc is the PyPI package
wrtc.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import webrtc
from aiortc import RTCConfiguration, RTCPeerConnection

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, Negotiator, negotiate
from tests.support.libwebrtc import (
    Libwebrtc,
    close,
    connection_state,
    libwebrtc_peer,
)
from tests.support.sdp import strip_candidates, tamper_fingerprints, wrong_ice_password

#: rtcstate's timers in these runs: short, so the suite stays fast. The
#: comparison is of sequences, never of times.
FAST = replace(FAST_LIVENESS, failed_timeout=3.0)
# libwebrtc's own timers: disconnected after 5 to 7 s (measured), failed after ~15 s;
# the waits leave room for a loaded machine
SLOW_DISCONNECT, SLOW_FAIL = 12.0, 18.0


@dataclass
class Peer:
    kind: str  # "libwebrtc", "rtcstate" or "aiortc"
    pc: Any
    connection: list[str] = field(default_factory=list)
    ice: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return connection_state(self.pc)

    @property
    def negotiator(self) -> Negotiator:
        """What :func:`rtcstate.testing.negotiate` offers or answers with."""
        return Libwebrtc(self.pc) if self.kind == "libwebrtc" else self.pc

    async def close(self) -> None:
        await close(self.pc)


def make(kind: str, record: bool, fast: bool = True) -> Peer:
    if kind == "libwebrtc":
        wpc = libwebrtc_peer()
        peer = Peer(kind, wpc)
        if record:
            wpc.on(
                "connectionstatechange",
                lambda _e: peer.connection.append(wpc.connection_state.value),
            )
            wpc.on(
                "iceconnectionstatechange",
                lambda _e: peer.ice.append(wpc.ice_connection_state.value),
            )
        return peer
    config = RTCConfiguration(iceServers=[])
    apc = (
        rtcstate.PeerConnection(
            config, liveness=FAST if fast else rtcstate.LivenessConfig()
        )
        if kind == "rtcstate"
        else RTCPeerConnection(config)
    )
    peer = Peer(kind, apc)
    if record:
        apc.on(
            "connectionstatechange",
            lambda: peer.connection.append(str(apc.connectionState)),
        )
        apc.on(
            "iceconnectionstatechange",
            lambda: peer.ice.append(str(apc.iceConnectionState)),
        )
    return peer


async def start_session(
    local: Peer,
    remote: Peer,
    link: FaultyLink,
    *,
    media: bool = False,
    mangle: Callable[[str], str] | None = None,
    mangle_answer: Callable[[str], str] | None = None,
) -> None:
    """Local offers (a data channel, and audio + video with `media`), remote answers."""
    if local.kind == "libwebrtc":
        if media:
            local.pc.add_transceiver("audio")
            local.pc.add_transceiver("video")
        local.pc.create_data_channel("x")
    else:
        if media:
            local.pc.addTransceiver("audio")
            local.pc.addTransceiver("video")
        local.pc.createDataChannel("x")
    await negotiate(
        local.negotiator,
        remote.negotiator,
        link=link,
        mangle=mangle,
        mangle_answer=mangle_answer,
    )


async def connected_session(
    local: Peer, remote: Peer, link: FaultyLink, *, media: bool = False
) -> None:
    """:func:`start_session`, then wait (bounded) until the local side is
    ``connected``."""
    await start_session(local, remote, link, media=media)
    await until(local, "connected", timeout=10)


async def until(peer: Peer, *states: str, timeout: float) -> None:
    """Wait (bounded) until the peer reads one of ``states``; polls, as both kinds
    have to be read the same way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while peer.state not in states and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


# --- the scenarios ---------------------------------------------------------------
# Each takes (local, remote, link), drives the scenario and returns once it is over.


async def connect_data(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await connected_session(local, remote, link)
    await asyncio.sleep(1)


async def connect_media(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await connected_session(local, remote, link, media=True)
    await asyncio.sleep(1)


async def no_remote_candidates(local: Peer, remote: Peer, link: FaultyLink) -> None:
    # neither side learns a candidate of the other (as in the web-platform test)
    await start_session(local, remote, link, mangle=strip_candidates)
    await asyncio.sleep(2)


def _slow(local: Peer) -> bool:
    return local.kind == "libwebrtc"


def _fail_wait(local: Peer) -> float:
    """How long to wait for ``failed``: libwebrtc's 15 s, or rtcstate's FAST timers."""
    return SLOW_FAIL + 4 if _slow(local) else 8


async def _cut_and_restore(
    local: Peer, remote: Peer, link: FaultyLink, which: str
) -> None:
    await connected_session(local, remote, link)
    await asyncio.sleep(0.5)
    link.cut(which)  # type: ignore[arg-type]
    await until(local, "disconnected", timeout=SLOW_DISCONNECT if _slow(local) else 3)
    await asyncio.sleep(0.5)
    link.restore(which)  # type: ignore[arg-type]
    await until(local, "connected", timeout=5)
    await asyncio.sleep(0.5)


async def short_cut(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await _cut_and_restore(local, remote, link, "both")


async def cut_to_remote(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await _cut_and_restore(local, remote, link, "to_answerer")


async def cut_to_local(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await _cut_and_restore(local, remote, link, "to_offerer")


async def permanent_cut(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await connected_session(local, remote, link)
    await asyncio.sleep(0.5)
    link.cut()
    await until(local, "failed", timeout=_fail_wait(local))
    await asyncio.sleep(0.5)


async def remote_close(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await connected_session(local, remote, link)
    await asyncio.sleep(1)  # the data channel is up on both sides
    await remote.close()
    await until(local, "failed", timeout=_fail_wait(local))
    await asyncio.sleep(0.5)


async def local_close(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await connected_session(local, remote, link)
    await local.close()
    await asyncio.sleep(0.5)


async def fingerprint_mismatch(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await start_session(local, remote, link, mangle_answer=tamper_fingerprints)
    await until(local, "failed", timeout=10)
    await asyncio.sleep(0.5)


async def wrong_ice_credentials(local: Peer, remote: Peer, link: FaultyLink) -> None:
    await start_session(local, remote, link, mangle_answer=wrong_ice_password)
    await until(local, "failed", timeout=_fail_wait(local))
    await asyncio.sleep(0.5)


async def remote_never_answers(local: Peer, remote: Peer, link: FaultyLink) -> None:
    link.cut("to_offerer")  # the remote's checks and answers never arrive
    await start_session(local, remote, link)
    await until(local, "failed", timeout=_fail_wait(local))
    await asyncio.sleep(0.5)


SCENARIOS: dict[str, Callable[[Peer, Peer, FaultyLink], Awaitable[None]]] = {
    "connect with a data channel": connect_data,
    "connect with audio + video + data": connect_media,
    "no remote candidates": no_remote_candidates,
    "a cut in both directions, shorter than the failed timeout": short_cut,
    "a cut towards the remote only": cut_to_remote,
    "a cut towards the local side only": cut_to_local,
    "a permanent cut": permanent_cut,
    "the remote calls close()": remote_close,
    "the local side calls close()": local_close,
    "a DTLS fingerprint mismatch": fingerprint_mismatch,
    "wrong ICE credentials": wrong_ice_credentials,
    "a remote that never answers": remote_never_answers,
}
REMOTES = ("aiortc", "rtcstate", "libwebrtc")


@dataclass
class Run:
    scenario: str
    local: str
    remote: str
    connection: list[str]
    ice: list[str]
    error: str | None = None


async def run(scenario: str, local_kind: str, remote_kind: str) -> Run:
    # An rtcstate remote keeps its default timers against libwebrtc, whose own
    # are slow: short ones would make it fail before libwebrtc even notices.
    local = make(local_kind, record=True)
    remote = make(remote_kind, record=False, fast=local_kind == "rtcstate")
    link = await FaultyLink(seed=5).start()
    error = None
    try:
        await SCENARIOS[scenario](local, remote, link)
    except Exception as exc:  # reported with the run, never hidden
        error = repr(exc)
    finally:
        for peer in (local, remote):
            with contextlib.suppress(Exception):
                await peer.close()
        link.close()
    return Run(scenario, local_kind, remote_kind, local.connection, local.ice, error)


async def run_all() -> list[Run]:
    """Every scenario, both local kinds, every remote kind, all at once."""
    jobs = [
        run(scenario, local, remote)
        for scenario in SCENARIOS
        for local in ("libwebrtc", "rtcstate")
        for remote in REMOTES
    ]
    return list(await asyncio.gather(*jobs))


def normalise_ice(states: list[str]) -> list[str]:
    """rtcstate reports an ICE transport's "completed", libwebrtc never does:
    read it as "connected" and drop the repeats that makes."""
    out: list[str] = []
    for state in ("connected" if s == "completed" else s for s in states):
        if not out or out[-1] != state:
            out.append(state)
    return out


def until_failed(states: list[str]) -> list[str]:
    """The states up to the first "failed". webrtc-pc makes failed final
    until an ICE restart, and rtcstate keeps it; libwebrtc goes back to
    checking when checks from the remote arrive after it failed, which in
    the scenarios that end failed is a race (wrong credentials: the remote's
    own checks go on a while after the local side gave up)."""
    return states[: states.index("failed") + 1] if "failed" in states else states


def markdown(runs: list[Run]) -> str:
    """The scenario table of docs/conformance.md."""
    by_key = {(r.scenario, r.local, r.remote): r for r in runs}
    lines = [
        "| scenario | remote | libwebrtc: connectionState | rtcstate: connectionState "
        "| libwebrtc: iceConnectionState | rtcstate: iceConnectionState |",
        "|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        for remote in REMOTES:
            lib, ours = (
                by_key[(scenario, "libwebrtc", remote)],
                by_key[(scenario, "rtcstate", remote)],
            )
            cells = [
                " → ".join(seq) or "(none)"
                for seq in (lib.connection, ours.connection, lib.ice, ours.ice)
            ]
            lines.append(f"| {scenario} | {remote} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    webrtc.allow_loopback()
    print(markdown(asyncio.run(run_all())))
