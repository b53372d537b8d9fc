"""Aioice's mDNS answers that dnspython refuses (see the package's docstring)."""

from __future__ import annotations

from typing import Any

from ._base import _changed

# --- aioice: mDNS answers dnspython refuses -------------------------------------------
# aioice's MDnsProtocol.datagram_received parses each datagram with
# dns.message.from_wire and drops what fails to parse. dnspython 2.9 refuses a
# compressed name inside an NSEC record (RFC 3597's rule for unicast DNS), which
# mDNS allows (RFC 6762 18.14) and Chromium's answers carry in their additional
# section: aioice then never resolves a browser's .local candidate.

_MDNS_PATCHED = "_rtcstate_mdns"


def tolerate_mdns_answers() -> None:
    """Let aioice's mDNS resolver read answers whose additional section dnspython
    refuses: such a datagram is handed to aioice again without that section (the
    answers, all aioice reads, are kept). Idempotent; a datagram that parses is
    untouched.

    :raises InternalsChangedError: if aioice's mDNS protocol is not as verified.
    """
    import dns.exception
    import dns.message
    from aioice import mdns

    protocol = getattr(mdns, "MDnsProtocol", None)
    original = getattr(protocol, "datagram_received", None)
    if protocol is None or original is None:
        raise _changed("aioice.mdns has no MDnsProtocol.datagram_received")
    if getattr(original, _MDNS_PATCHED, False):
        return

    def datagram_received(self: Any, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if isinstance(data, bytes) and len(data) >= 12 and data[10:12] != b"\0\0":
            try:
                dns.message.from_wire(data)
            except dns.exception.FormError:
                data = _without_additional(data)
        original(self, data, addr)

    datagram_received._rtcstate_mdns = True  # type: ignore[attr-defined]
    protocol.datagram_received = datagram_received


def _without_additional(data: bytes) -> bytes:
    """The DNS message `data` without its additional section (ARCOUNT 0), or
    `data` unchanged if even that does not parse."""
    import dns.exception
    import dns.message

    try:
        message = dns.message.from_wire(
            data[:10] + b"\0\0" + data[12:], ignore_trailing=True
        )
        return bytes(message.to_wire())  # parsed again by aioice
    except (dns.exception.DNSException, ValueError):
        return data
