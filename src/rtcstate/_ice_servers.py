"""`RTCConfiguration.iceServers`, read once, every URL of it, as a browser does.

aiortc uses the first STUN URL and the first TURN URL it can, and skips the rest in
silence (a `turns:` over anything but TCP, a `credentialType` other than
`"password"`). rtcstate gathers from each URL (see [`rtcstate._gathering`][]), so each
is checked when the connection is made, and one it cannot use raises `ValueError`
naming it, as webrtc-pc's "validate an ICE server" step does (a `SyntaxError` or
`InvalidAccessError` in a browser).

The URL forms are RFC 7064's and RFC 7065's: `stun:host[:port]`,
`turn[s]:host[:port][?transport=udp|tcp]`, the host a name, an IPv4 address or an
IPv6 address in brackets. `turn:host?transport=tls`, which some services hand out, is
read as `turns:host?transport=tcp` (TLS over TCP). What aioice cannot do is refused:
`stuns:`, `turns:` over UDP (DTLS), and a STUN server at an IPv6 address (aioice asks
STUN servers from IPv4 sockets only).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from aiortc import RTCIceServer

__all__ = ["ServerUrl", "parse_ice_servers"]

Kind = Literal["stun", "turn"]
Transport = Literal["udp", "tcp", "tls"]

# RFC 7064 / 7065: scheme ":" host [":" port] ["?transport=" transport]
_URL = re.compile(
    r"(?P<scheme>[a-z]+):(?P<host>\[[^\]]*\]|[^:?\[\]/]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:\?transport=(?P<transport>[a-z]+))?",
    re.IGNORECASE,
)
_DEFAULT_PORT = {"stun": 3478, "stuns": 5349, "turn": 3478, "turns": 5349}


@dataclass(frozen=True, slots=True)
class ServerUrl:
    """One usable URL of `iceServers`: a STUN server, or a TURN server with its
    credentials. `transport` is how rtcstate reaches it: `"udp"`, `"tcp"` or
    `"tls"` (TLS over TCP)."""

    url: str
    kind: Kind
    host: str
    port: int
    transport: Transport
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def parse_ice_servers(servers: Sequence[RTCIceServer]) -> tuple[ServerUrl, ...]:
    """Every URL of `servers`, in order, each checked.

    :raises TypeError: for an entry that is not an `aiortc.RTCIceServer`.
    :raises ValueError: naming the URL, for a malformed URL, a scheme or
        transport rtcstate cannot use, or a TURN server without a username and
        password (`credentialType` `"password"`).
    """
    parsed: list[ServerUrl] = []
    for server in servers:
        if not isinstance(server, RTCIceServer):
            raise TypeError(
                "iceServers holds aiortc.RTCIceServer, not " + type(server).__name__
            )
        urls = [server.urls] if isinstance(server.urls, str) else list(server.urls)
        if not urls:
            raise ValueError("iceServers: an RTCIceServer has no URL")
        for url in urls:
            parsed.append(_parse(url, server))
    return tuple(parsed)


def _parse(url: object, server: RTCIceServer) -> ServerUrl:
    if not isinstance(url, str):
        raise TypeError(f"iceServers: a URL is a str, not {type(url).__name__}")

    def bad(why: str) -> ValueError:
        return ValueError(f"iceServers: {url!r}: {why}")

    match = _URL.fullmatch(url)
    if match is None:
        raise bad("malformed (expected scheme:host[:port][?transport=udp|tcp])")
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORT:
        raise bad("the scheme is none of stun, stuns, turn, turns")
    host = _host(match["host"], bad)
    port = int(match["port"]) if match["port"] else _DEFAULT_PORT[scheme]
    if not 0 < port < 65536:
        raise bad(f"port {port} is out of range")
    query = (match["transport"] or "").lower()
    if scheme == "stuns":
        raise bad("STUN over TLS is not supported (aioice has none)")
    if scheme == "stun":
        if query:
            raise bad("a stun: URL takes no transport (RFC 7064)")
        if ":" in host:
            raise bad("STUN over IPv6 is not supported (aioice asks over IPv4 only)")
        return ServerUrl(url, "stun", host, port, "udp")
    transport: Transport
    if scheme == "turns":
        if query not in ("", "tcp"):
            raise bad("turns: goes over TCP only (TURN over DTLS is not supported)")
        transport = "tls"
    elif query in ("", "udp"):
        transport = "udp"
    elif query in ("tcp", "tls"):
        transport = "tcp" if query == "tcp" else "tls"
    else:
        raise bad(f"transport {query!r} is none of udp, tcp")
    credential_type = getattr(server, "credentialType", "password")
    if credential_type != "password":
        raise bad(
            f"credentialType {credential_type!r} is not supported (only 'password')"
        )
    if not isinstance(server.username, str) or not isinstance(server.credential, str):
        raise bad("a TURN server needs a username and a credential (both str)")
    return ServerUrl(
        url, "turn", host, port, transport, server.username, server.credential
    )


def _host(text: str, bad: Callable[[str], ValueError]) -> str:
    if text.startswith("["):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise bad("the address in brackets is not IPv6") from None
    return text
