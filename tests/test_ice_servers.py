"""rtcstate._ice_servers: every iceServers URL read, or refused naming it."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCIceServer

import rtcstate
from rtcstate._ice_servers import ServerUrl, parse_ice_servers


def _one(
    url: str, username: str | None = "u", credential: str | None = "p"
) -> ServerUrl:
    (parsed,) = parse_ice_servers([RTCIceServer(url, username, credential)])
    return parsed


@pytest.mark.parametrize(
    ("url", "kind", "host", "port", "transport"),
    [
        ("stun:stun.example.org", "stun", "stun.example.org", 3478, "udp"),
        ("stun:127.0.0.1:19302", "stun", "127.0.0.1", 19302, "udp"),
        ("turn:turn.example.org", "turn", "turn.example.org", 3478, "udp"),
        ("turn:10.0.0.1:3479?transport=udp", "turn", "10.0.0.1", 3479, "udp"),
        ("turn:10.0.0.1?transport=tcp", "turn", "10.0.0.1", 3478, "tcp"),
        ("turn:[2001:db8::1]:443?transport=tcp", "turn", "2001:db8::1", 443, "tcp"),
        ("turns:turn.example.org", "turn", "turn.example.org", 5349, "tls"),
        (
            "turns:turn.example.org:443?transport=tcp",
            "turn",
            "turn.example.org",
            443,
            "tls",
        ),
        (
            "turn:turn.example.org:443?transport=tls",
            "turn",
            "turn.example.org",
            443,
            "tls",
        ),
        ("TURN:h?transport=TCP", "turn", "h", 3478, "tcp"),
    ],
)
def test_each_url_form(
    url: str, kind: str, host: str, port: int, transport: str
) -> None:
    parsed = _one(url)
    assert (parsed.url, parsed.kind, parsed.host, parsed.port, parsed.transport) == (
        url,
        kind,
        host,
        port,
        transport,
    )
    if kind == "turn":
        assert (parsed.username, parsed.password) == ("u", "p")


def test_every_url_of_every_server_in_order() -> None:
    servers = [
        RTCIceServer(["stun:a", "stun:b:1"]),
        RTCIceServer(["turn:c?transport=udp", "turns:d"], "user", "secret"),
        RTCIceServer("turn:e?transport=tcp", "user2", "secret2"),
    ]
    parsed = parse_ice_servers(servers)
    assert [p.url for p in parsed] == [
        "stun:a",
        "stun:b:1",
        "turn:c?transport=udp",
        "turns:d",
        "turn:e?transport=tcp",
    ]
    assert parsed[-1].username == "user2"
    assert parse_ice_servers([]) == ()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("stun:", "malformed"),
        ("stun:host:port", "malformed"),
        ("http://example.org", "malformed"),
        ("stun:h/path", "malformed"),
        ("ftp:example.org", "scheme is none of"),
        ("stun:h?transport=udp", "takes no transport"),
        ("stuns:h", "STUN over TLS"),
        ("turns:h?transport=udp", "TCP only"),
        ("turn:h?transport=sctp", "transport 'sctp'"),
        ("turn:h:0", "out of range"),
        ("turn:h:70000", "out of range"),
        ("turn:[not-v6]", "not IPv6"),
        ("stun:[::1]:3478", "STUN over IPv6"),
    ],
)
def test_a_url_rtcstate_cannot_use_is_named(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as raised:
        _one(url)
    assert repr(url) in str(raised.value)


def test_turn_needs_password_credentials() -> None:
    with pytest.raises(ValueError, match="needs a username and a credential"):
        _one("turn:h", None, None)
    with pytest.raises(ValueError, match="needs a username"):
        _one("turn:h", "u", None)
    server = RTCIceServer("turn:h", "u", "p", credentialType="oauth")
    with pytest.raises(ValueError, match="credentialType 'oauth' is not supported"):
        parse_ice_servers([server])
    assert _one("stun:h", None, None).username is None  # STUN needs none


def test_entries_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="RTCIceServer, not str"):
        parse_ice_servers(["stun:h"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="a URL is a str"):
        parse_ice_servers([RTCIceServer([b"stun:h"])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="has no URL"):
        parse_ice_servers([RTCIceServer([])])


def test_the_connection_refuses_an_unusable_url_when_made() -> None:
    """Where aiortc skips it in silence (or raises at the first offer)."""
    bad = RTCConfiguration(
        iceServers=[RTCIceServer(["stun:ok", "turns:h?transport=udp"], "u", "p")]
    )
    with pytest.raises(ValueError, match=r"'turns:h\?transport=udp'"):
        rtcstate.PeerConnection(bad)


@pytest.mark.parametrize(
    ("keywords", "error"),
    [
        ({"trickle": 1}, TypeError),
        ({"address_filter": "eth0"}, TypeError),
        ({"gather_timeout": 0}, ValueError),
        ({"gather_timeout": float("nan")}, ValueError),
        ({"gather_timeout": True}, ValueError),
        ({"turn_tls_context": object()}, TypeError),
    ],
)
def test_gathering_keywords_are_checked(
    keywords: dict[str, object], error: type
) -> None:
    with pytest.raises(error):
        rtcstate.PeerConnection(RTCConfiguration(iceServers=[]), **keywords)  # type: ignore[arg-type]


def test_the_configuration_given_is_the_one_read_back() -> None:
    configuration = RTCConfiguration(iceServers=[RTCIceServer("stun:127.0.0.1:9")])
    pc = rtcstate.PeerConnection(configuration)
    assert pc.getConfiguration() is configuration


def test_without_ice_servers_the_default_is_aiortcs() -> None:
    """aiortc's default (no iceServers given) is Google's public STUN server;
    nothing is sent here, the policy is read."""
    for pc in (rtcstate.PeerConnection(), rtcstate.PeerConnection(RTCConfiguration())):
        (server,) = pc._gathering.policy.servers
        assert (server.kind, server.host, server.port) == (
            "stun",
            "stun.l.google.com",
            19302,
        )
    empty = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    assert empty._gathering.policy.servers == ()
