"""ICE restart between rtcstate and peers of other implementations: libwebrtc
(PyPI `wrtc`) and plain aiortc, each side in turn restarting, from `connected`
(the old path still works: no move), `disconnected` and `failed` (after a
permanent path move, `FaultyLink.move()`).

A restart from `connected` runs on a direct loopback connection, not through the
FaultyLink, with each side's real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice.stun
import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, negotiate
from tests.support.peers import config
from tests.support.restart import checks_fail_at

try:
    import webrtc

    from tests.support.libwebrtc import Libwebrtc, libwebrtc_peer, udp_ipv4_only
except ImportError:  # pragma: no cover - wrtc is a dev dependency
    webrtc = None

pytestmark = pytest.mark.asyncio

needs_wrtc = pytest.mark.skipif(
    webrtc is None, reason="wrtc (libwebrtc) is not installed"
)

TIMEOUT = 10
SCENARIOS = ("connected", "disconnected", "failed")
#: rtcstate's timers per scenario: short, and for "disconnected" a failed timer
#: long enough to stay disconnected while libwebrtc's own timer runs (~7.5 s)
LIVENESS = {
    "connected": FAST_LIVENESS,
    "disconnected": dataclasses.replace(FAST_LIVENESS, failed_timeout=60.0),
    "failed": FAST_LIVENESS,
}


def ice_credentials(sdp: str) -> tuple[str, str]:
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.M)
    pwd = re.search(r"^a=ice-pwd:(\S+)", sdp, re.M)
    assert ufrag is not None and pwd is not None
    return ufrag.group(1), pwd.group(1)


class Messages:
    """Numbered messages both ways on one data channel, checked for order."""

    def __init__(self, send_local: Callable[[str], None], send_remote: Any) -> None:
        self._send_local = send_local
        self._send_remote = send_remote
        self.sent = 0
        self.at_local: list[str] = []  # what the rtcstate side received
        self.at_remote: list[str] = []

    def send(self, count: int = 3) -> None:
        for _ in range(count):
            self._send_local(f"to-remote {self.sent}")
            self._send_remote(f"to-local {self.sent}")
            self.sent += 1

    async def all_delivered(self, timeout: float = TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.at_local) < self.sent or len(self.at_remote) < self.sent:
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.02)
        # every message, once, in order, each way
        assert self.at_remote == [f"to-remote {i}" for i in range(self.sent)]
        assert self.at_local == [f"to-local {i}" for i in range(self.sent)]


def history(pc: rtcstate.PeerConnection, since: float) -> list[tuple[str, str, str]]:
    """(attribute, new value, cause) of rtcstate's changes from `since`."""
    return [
        (c.attribute, str(c.current), c.cause.detail or "")
        for c in pc.state_history
        if c.time >= since
    ]


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- rtcstate <-> libwebrtc ---------------------------------------------------------


class LibwebrtcSession:
    """An rtcstate peer and a libwebrtc peer with one data channel, the restarting
    side the offerer, through a FaultyLink (`link`) or direct (`link=None`)."""

    def __init__(self, restarter: str, scenario: str) -> None:
        self.restarter = restarter
        self.scenario = scenario
        self.local = rtcstate.PeerConnection(config(), liveness=LIVENESS[scenario])
        self.remote = Libwebrtc(libwebrtc_peer())
        self.link: FaultyLink | None = None
        #: libwebrtc's own (attribute, value) changes, in order
        self.remote_states: list[tuple[str, str]] = []
        pc = self.remote.pc
        pc.on(
            "connectionstatechange",
            lambda _e: self.remote_states.append(
                ("connectionState", pc.connection_state.value)
            ),
        )
        pc.on(
            "iceconnectionstatechange",
            lambda _e: self.remote_states.append(
                ("iceConnectionState", pc.ice_connection_state.value)
            ),
        )
        self.local_channel: Any = None
        self.remote_channel: Any = None

    async def start(self) -> Messages:
        if self.scenario != "connected":
            self.link = await FaultyLink().start()
        if self.restarter == "rtcstate":
            self.local_channel = self.local.createDataChannel("x")
            self.remote.pc.on(
                "datachannel",
                lambda e: setattr(self, "remote_channel", e.channel),
            )
        else:
            self.remote_channel = self.remote.pc.create_data_channel("x")
            self.local.on("datachannel", lambda c: setattr(self, "local_channel", c))
        await self.negotiate()
        await self.local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await until(
            lambda: (
                self.local_channel is not None
                and self.remote_channel is not None
                and self.local_channel.readyState == "open"
                and self.remote_channel.ready_state.value == "open"
            ),
            TIMEOUT,
            "the data channel to open on both sides",
        )
        # libwebrtc's own events come from its thread, maybe after the channel
        # opened: the tests compare what it says after this point
        await until(
            lambda: self._last_remote("connectionState") == "connected",
            TIMEOUT,
            "libwebrtc's connectionstatechange to connected",
        )
        messages = Messages(self.local_channel.send, self.remote_channel.send)
        self.local_channel.on("message", messages.at_local.append)
        self.remote_channel.on("message", lambda e: messages.at_remote.append(e.data))
        return messages

    async def negotiate(self) -> None:
        if self.restarter == "rtcstate":
            await negotiate(
                self.local,
                self.remote,
                link=self.link,
                mangle_answer=None if self.link else udp_ipv4_only,
            )
        else:
            await negotiate(
                self.remote,
                self.local,
                link=self.link,
                mangle_offer=None if self.link else udp_ipv4_only,
            )

    def _last_remote(self, attribute: str) -> str | None:
        values = [v for a, v in self.remote_states if a == attribute]
        return values[-1] if values else None

    def remote_state(self) -> str:
        return str(self.remote.pc.connection_state.value)

    def restart_ice(self) -> None:
        if self.restarter == "rtcstate":
            self.local.restartIce()
        else:
            self.remote.pc.restart_ice()

    async def close(self) -> None:
        await self.local.close()
        self.remote.pc.close()
        if self.link is not None:
            self.link.close()


@pytest_asyncio.fixture
async def libwebrtc_session(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[str, str], LibwebrtcSession]]:
    made: list[LibwebrtcSession] = []

    def make(restarter: str, scenario: str) -> LibwebrtcSession:
        session = LibwebrtcSession(restarter, scenario)
        made.append(session)
        return session

    yield make
    for session in made:
        await session.close()
    await asyncio.sleep(0)


#: rtcstate's changes from the restart on, per scenario
RTCSTATE_SEQUENCE = {
    # the old pair keeps working: connectionState does not move
    "connected": [
        ("iceConnectionState", "connected", "ICE restart"),
        ("iceConnectionState", "completed", "checks succeeded on new pair"),
    ],
    "disconnected": [
        ("iceConnectionState", "checking", "ICE restart"),
        ("connectionState", "connecting", "ICE restart"),
        ("iceConnectionState", "connected", "checks succeeded on new pair"),
        ("connectionState", "connected", "checks succeeded on new pair"),
        ("iceConnectionState", "completed", ""),
    ],
}
RTCSTATE_SEQUENCE["failed"] = RTCSTATE_SEQUENCE["disconnected"]

#: libwebrtc's changes from the restart on, as measured: it never reads
#: "checking" in a restart; from "failed" it reads "disconnected" once the
#: restart's description is applied, then "connected"
LIBWEBRTC_SEQUENCE = {
    "disconnected": ["connected"],
    "failed": ["disconnected", "connected"],
}


@pytest.mark.parametrize("restarter", ["rtcstate", "libwebrtc"])
@pytest.mark.parametrize(
    "scenario",
    [
        "connected",
        "disconnected",
        pytest.param("failed", marks=pytest.mark.timeout(90)),
    ],
)
@pytest.mark.usefixtures("wrtc_loopback")
@needs_wrtc
async def test_libwebrtc_ice_restart_keeps_the_data_channel(
    libwebrtc_session: Callable[[str, str], LibwebrtcSession],
    restarter: str,
    scenario: str,
) -> None:
    session = libwebrtc_session(restarter, scenario)
    local = session.local
    messages = await session.start()
    messages.send()  # before
    await messages.all_delivered()
    if scenario != "connected":
        assert session.link is not None
        await session.link.move()
        # both sides see the loss on their own timers (libwebrtc's: ~7.5 s to
        # disconnected, ~17.5 s to failed, after a move)
        await local.wait_for_connection_state(scenario, timeout=TIMEOUT)
        await until(
            lambda: session.remote_state() == scenario, 40, f"libwebrtc {scenario}"
        )
    assert local.connectionState == scenario
    loop = asyncio.get_running_loop()
    started = loop.time()
    remote_before = len(session.remote_states)
    session.restart_ice()
    messages.send()  # during: before the offer
    await session.negotiate()
    messages.send()  # during: the answer applied, the checks under way
    await until(
        lambda: (
            local.connectionState == "connected"
            and session.remote_state() == "connected"
            and any("checks succeeded" in c for _, _, c in history(local, started))
        ),
        TIMEOUT,
        "both sides connected on the new pair",
    )
    messages.send()  # after
    await messages.all_delivered()
    cause = (
        "ICE restart (restartIce())"
        if restarter == "rtcstate"
        else "ICE restart (remote offer)"
    )
    changes = history(local, started)
    assert [(a, v) for a, v, _ in changes] == [
        (a, v) for a, v, _ in RTCSTATE_SEQUENCE[scenario]
    ]
    for (_, _, got), (_, _, want) in zip(changes, RTCSTATE_SEQUENCE[scenario]):
        assert got.startswith(cause if want == "ICE restart" else want), changes
    assert local.connectionState == "connected"
    assert local.sctp.transport.state == "connected"  # no new DTLS handshake
    remote_changes = [
        v for a, v in session.remote_states[remote_before:] if a == "connectionState"
    ]
    if scenario == "connected":
        # libwebrtc may read nothing new, or a blip: never worse than
        # "disconnected", and "connected" at the end
        assert set(remote_changes) <= {"disconnected", "connected"}
    else:
        assert remote_changes == LIBWEBRTC_SEQUENCE[scenario]
        ice = [
            v
            for a, v in session.remote_states[remote_before:]
            if a == "iceConnectionState"
        ]
        assert "checking" not in ice
    assert session.remote_state() == "connected"


@pytest.mark.parametrize("restarter", ["rtcstate", "libwebrtc"])
@pytest.mark.usefixtures("wrtc_loopback")
@needs_wrtc
async def test_a_restart_that_fails_at_rtcstate_only_leaves_libwebrtc_connected(
    libwebrtc_session: Callable[[str, str], LibwebrtcSession],
    restarter: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rtcstate's own checks fail after its new Connection answered libwebrtc's
    (as a one-way path does): rtcstate goes back to the old pair, and libwebrtc,
    which keeps its old generation while the new one is unproven, follows."""
    session = libwebrtc_session(restarter, "connected")
    local = session.local
    messages = await session.start()
    messages.send()
    await messages.all_delivered()
    remote_before = len(session.remote_states)
    started = asyncio.get_running_loop().time()
    checks_fail_at(monkeypatch, local)
    session.restart_ice()
    await session.negotiate()
    for _ in range(20):  # during the restart and after it
        messages.send(1)
        await asyncio.sleep(0.1)
    await asyncio.sleep(3 * FAST_LIVENESS.disconnected_timeout)
    messages.send()
    await messages.all_delivered()
    details = [c for _, _, c in history(local, started)]
    assert "ICE restart failed: ICE negotiation failed (injected)" in details
    assert local.connectionState == "connected"
    assert [
        v for a, v in session.remote_states[remote_before:] if a == "connectionState"
    ] == []
    assert session.remote_state() == "connected"


# --- rtcstate <-> plain aiortc --------------------------------------------------------


class AiortcPair:
    """An rtcstate offerer (short timers) and a plain aiortc answerer, with
    messages both ways on one data channel."""

    def __init__(self) -> None:
        self.local = rtcstate.PeerConnection(config(), liveness=FAST_LIVENESS)
        self.remote = RTCPeerConnection(config())
        self.link: FaultyLink | None = None
        self.channel = self.local.createDataChannel("x")
        self.remote_channels: list[Any] = []
        self.messages = Messages(
            self.channel.send, lambda m: self.remote_channels[0].send(m)
        )
        self.channel.on("message", self.messages.at_local.append)

        @self.remote.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self.remote_channels.append(channel)
            channel.on("message", self.messages.at_remote.append)

    async def connect(self, link: FaultyLink | None = None) -> None:
        self.link = link
        await negotiate(self.local, self.remote, link=link)
        await self.local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await until(
            lambda: (
                self.remote.connectionState == "connected"
                and self.channel.readyState == "open"
                and len(self.remote_channels) == 1
            ),
            TIMEOUT,
            "aiortc connected, the data channel open",
        )

    async def close(self) -> None:
        await self.local.close()
        await self.remote.close()
        if self.link is not None:
            self.link.close()


@pytest_asyncio.fixture
async def aiortc_pair() -> AsyncIterator[AiortcPair]:
    pair = AiortcPair()
    try:
        yield pair
    finally:
        await pair.close()
        await asyncio.sleep(0)


@contextlib.contextmanager
def short_stun_transactions(monkeypatch: pytest.MonkeyPatch) -> Any:
    """aioice gives a check 7 tries over 63.5 s (RETRY_MAX 6): with 2
    retransmissions a check that gets no authenticated answer fails after 3.5 s
    (0.5 + 1 + 2). A timer, nothing else: aioice runs as it is."""
    with monkeypatch.context() as patch:
        patch.setattr(aioice.stun, "RETRY_MAX", 2)
        yield


async def test_plain_aiortc_answers_a_restart_with_old_credentials_old_pair_carries_on(
    aiortc_pair: AiortcPair,
) -> None:
    # rtcstate restarts while the old pair works; aiortc 1.16 accepts the offer,
    # keeps its ICE credentials in the answer and never restarts: rtcstate sees the
    # old credentials in the answer, abandons the restart and keeps the old pair,
    # on which the data keeps flowing
    local, remote, messages = (
        aiortc_pair.local,
        aiortc_pair.remote,
        aiortc_pair.messages,
    )
    await aiortc_pair.connect()
    messages.send()
    await messages.all_delivered()
    credentials = ice_credentials(remote.localDescription.sdp)
    ours = ice_credentials(local.localDescription.sdp)
    started = asyncio.get_running_loop().time()
    local.restartIce()
    messages.send()
    await negotiate(local, remote)
    assert ice_credentials(local.localDescription.sdp) != ours  # we restarted
    assert ice_credentials(remote.localDescription.sdp) == credentials  # not aiortc
    for _ in range(10):  # 2 s: the restart's checks never succeed
        messages.send(1)
        await asyncio.sleep(0.2)
    messages.send()
    await messages.all_delivered()
    assert history(local, started) == [
        ("iceConnectionState", "connected", "ICE restart (restartIce())"),
        (
            "iceConnectionState",
            "completed",
            "ICE restart abandoned: the remote answered with its old ICE "
            "credentials (it cannot restart ICE, as plain aiortc, or its "
            "restart failed before it answered)",
        ),
    ]
    assert local.connectionState == "connected"
    assert remote.connectionState == "connected"
    assert remote.iceConnectionState == "completed"


async def test_a_restart_towards_plain_aiortc_reads_no_failed_while_the_old_pair_works(
    aiortc_pair: AiortcPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, remote, messages = (
        aiortc_pair.local,
        aiortc_pair.remote,
        aiortc_pair.messages,
    )
    await aiortc_pair.connect()
    with short_stun_transactions(monkeypatch):
        local.restartIce()
        await negotiate(local, remote)
        for _ in range(30):  # 6 s: past the restart checks' 3.5 s
            messages.send(1)
            await asyncio.sleep(0.2)
    await messages.all_delivered()  # the old pair carried every message
    assert local.connectionState == "connected"


async def test_a_restart_towards_plain_aiortc_after_a_move_never_recovers(
    aiortc_pair: AiortcPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # after a permanent path move the old pair is dead, and aiortc never takes up
    # the restart: rtcstate reads failed -> checking, then failed again once the
    # restart's checks time out (63.5 s with aioice's own timers)
    local, remote = aiortc_pair.local, aiortc_pair.remote
    link = await FaultyLink().start()
    await aiortc_pair.connect(link)
    credentials = ice_credentials(remote.localDescription.sdp)
    await link.move()
    await local.wait_for_connection_state("failed", timeout=TIMEOUT)
    started = asyncio.get_running_loop().time()
    with short_stun_transactions(monkeypatch):
        local.restartIce()
        await negotiate(local, remote, link=link)
        assert ice_credentials(remote.localDescription.sdp) == credentials
        assert local.connectionState == "connecting"
        await local.wait_for_connection_state("failed", timeout=TIMEOUT)
    changes = history(local, started)
    assert [(a, v) for a, v, _ in changes] == [
        ("iceConnectionState", "checking"),
        ("connectionState", "connecting"),
        ("iceConnectionState", "failed"),
        ("connectionState", "failed"),
    ]
    assert changes[0][2] == "ICE restart (restartIce())"
    assert changes[-1][2].startswith("ICE restart failed")
    # aiortc, which consent checks on its own timers, reads failed too (~30 s)
    assert remote.connectionState in ("connected", "failed")


async def test_plain_aiortc_cannot_start_a_restart(aiortc_pair: AiortcPair) -> None:
    local, remote, messages = (
        aiortc_pair.local,
        aiortc_pair.remote,
        aiortc_pair.messages,
    )
    await aiortc_pair.connect()
    assert not hasattr(remote, "restartIce")
    with pytest.raises(TypeError):  # no RTCOfferOptions(iceRestart=True) either
        await remote.createOffer({"iceRestart": True})  # type: ignore[call-arg]
    # its re-offer keeps its credentials: rtcstate answers without a restart
    credentials = ice_credentials(remote.localDescription.sdp)
    ours = ice_credentials(local.localDescription.sdp)
    started = asyncio.get_running_loop().time()
    await negotiate(remote, local)
    assert ice_credentials(remote.localDescription.sdp) == credentials
    assert ice_credentials(local.localDescription.sdp) == ours
    messages.send()
    await messages.all_delivered()
    assert history(local, started) == []
    assert local.connectionState == "connected"
