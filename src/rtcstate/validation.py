"""Clear errors for bad SDP and bad ICE candidates, before aiortc sees them.

aiortc accepts some malformed input silently (an SDP of `"garbage"` is an
offer with no media; a candidate for an unknown mid is dropped) and rejects
other input with errors that do not say what is wrong (`not enough values to
unpack`, a bare `AssertionError`). [`PeerConnection`][rtcstate.PeerConnection] runs
these checks first, and raises `ValueError` naming the line at fault.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection

from aiortc import RTCIceCandidate

__all__ = [
    "check_candidate",
    "check_description",
    "check_fingerprint_kept",
    "check_ice_credentials",
    "parse_candidate",
]

KNOWN_PROFILES = frozenset(
    {
        "UDP/TLS/RTP/SAVPF",
        "UDP/TLS/RTP/SAVP",
        "RTP/SAVPF",
        "RTP/SAVP",
        "UDP/DTLS/SCTP",
        "DTLS/SCTP",
    }
)
"""Media transport protocols aiortc can negotiate (RFC 8839, RFC 8841)."""
_CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})
# RFC 8839 section 5.4: ice-char = ALPHA / DIGIT / "+" / "/"
_ICE_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_ICE_LENGTHS = {"ice-ufrag": (4, 256), "ice-pwd": (22, 256)}


def check_description(sdp: str) -> None:
    """Check an SDP's syntax and what aiortc silently tolerates.

    :raises ValueError: for an SDP that does not start with `v=0`, a line that
        is not `<letter>=<value>`, an m-line with an unknown transport protocol,
        an active m-line without ICE credentials or DTLS fingerprint, ICE
        credentials that RFC 8839 does not allow (see
        [`check_ice_credentials`][rtcstate.validation.check_ice_credentials]), or a
        malformed candidate line.
    """
    if not isinstance(sdp, str) or not sdp.strip():
        raise ValueError("malformed SDP: it is empty")
    check_ice_credentials(sdp)
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if lines[0] != "v=0":
        raise ValueError(
            f"malformed SDP: the first line must be 'v=0', not {lines[0][:40]!r}"
        )
    session: dict[str, bool] = {"fingerprint": False, "ufrag": False, "pwd": False}
    media: list[tuple[int, str, dict[str, bool]]] = []
    for number, line in enumerate(lines, start=1):
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise ValueError(
                f"malformed SDP: line {number} {line[:40]!r} is not '<type>=<value>'"
            )
        current = media[-1][2] if media else session
        if line.startswith("m="):
            fields = line[2:].split()
            if len(fields) < 4 or not fields[1].split("/")[0].isdigit():
                raise ValueError(f"malformed SDP: m-line {len(media)} {line!r}")
            port, profile = int(fields[1].split("/")[0]), fields[2]
            if port != 0 and profile not in KNOWN_PROFILES:
                raise ValueError(
                    f"unsupported SDP: m-line {len(media)} uses transport protocol "
                    f"{profile!r}; aiortc supports {', '.join(sorted(KNOWN_PROFILES))}"
                )
            media.append(
                (port, fields[0], {"fingerprint": False, "ufrag": False, "pwd": False})
            )
        elif line.startswith("a=fingerprint:"):
            current["fingerprint"] = True
        elif line.startswith("a=ice-ufrag:"):
            current["ufrag"] = True
        elif line.startswith("a=ice-pwd:"):
            current["pwd"] = True
        elif line.startswith("a=candidate:"):
            try:
                _check_candidate_fields(line[len("a=candidate:") :].split())
            except ValueError as error:
                raise ValueError(
                    f"malformed SDP: m-line {len(media) - 1}: {error}"
                ) from None
    for index, (port, kind, found) in enumerate(media):
        if port == 0:
            continue  # a rejected m-line needs no transport
        for key, what in (("ufrag", "a=ice-ufrag"), ("pwd", "a=ice-pwd")):
            if not (found[key] or session[key]):
                raise ValueError(
                    f"malformed SDP: m-line {index} ({kind}) has no {what}"
                )
        if not (found["fingerprint"] or session["fingerprint"]):
            raise ValueError(
                f"malformed SDP: m-line {index} ({kind}) has no a=fingerprint, so DTLS "
                "could not authenticate the remote"
            )
    from aiortc import sdp as aiortc_sdp

    try:
        parsed = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as error:  # aiortc's parser raises whatever it trips on
        raise ValueError(
            f"malformed SDP: aiortc cannot parse it ({type(error).__name__}: {error})"
        ) from error
    for index, section in enumerate(parsed.media):
        if section.port != 0 and (section.dtls is None or section.ice is None):
            raise ValueError(
                f"malformed SDP: m-line {index} ({section.kind}) has no usable "
                "DTLS or ICE parameters (a=setup, a=fingerprint, a=ice-*)"
            )


def check_ice_credentials(sdp: str) -> None:
    """Check every `a=ice-ufrag` and `a=ice-pwd` of an SDP against RFC 8839
    (section 5.4): a ufrag of 4 to 256 characters and a password of 22 to 256, each
    character a letter, a digit, `+` or `/`.

    aioice accepts anything, and then cannot check: a colon splits STUN's USERNAME
    in the wrong place, a space or non-ASCII character is never matched, a 70,000
    character ufrag overflows STUN's attribute length. Each of those left a
    connection (or an ICE restart) checking until aioice's transactions timed out.
    Both front ends run this before a description is applied, so nothing changes.

    :raises ValueError: naming the field (`a=ice-ufrag` or `a=ice-pwd`) and the
        m-line it is on.
    """
    section = "the session"
    index = 0
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            section = f"m-line {index}"
            index += 1
            continue
        for field, (low, high) in _ICE_LENGTHS.items():
            prefix = f"a={field}:"
            if not line.startswith(prefix):
                continue
            value = line[len(prefix) :].rstrip("\r")
            shown = repr(value if len(value) <= 40 else value[:40] + "...")
            if not low <= len(value) <= high:
                raise ValueError(
                    f"invalid SDP: a={field} of {section} has {len(value)} "
                    f"characters ({shown}); RFC 8839 allows {low} to {high}"
                )
            if not _ICE_CHARS.fullmatch(value):
                bad = next(c for c in value if not _ICE_CHARS.fullmatch(c))
                raise ValueError(
                    f"invalid SDP: a={field} of {section} ({shown}) contains "
                    f"{bad!r}; RFC 8839 allows letters, digits, '+' and '/' only"
                )


def check_fingerprint_kept(previous: str | None, sdp: str) -> None:
    """Check that a remote description keeps the DTLS fingerprints that the
    remote's earlier description gave for the same m-lines.

    A changed fingerprint means a new certificate, which only a new DTLS
    handshake could authenticate. libwebrtc starts one (its DTLS transport
    tears down the association when the remote fingerprint changes); aiortc
    cannot, so its `remoteDescription` would advertise a certificate that was
    never checked.

    :param previous: the remote description applied so far (`None`: the
        first one, nothing to compare).
    :raises ValueError: naming the m-line whose fingerprint changed.
    """
    if previous is None:
        return
    before = _fingerprints(previous)
    for mid, prints in _fingerprints(sdp).items():
        if mid in before and prints and before[mid] and prints != before[mid]:
            raise ValueError(
                f"unsupported SDP: the remote's DTLS fingerprint for mid {mid!r} "
                "changed in a renegotiation; that needs a new DTLS handshake, "
                "which aiortc cannot start (make a new connection instead)"
            )


def _fingerprints(sdp: str) -> dict[str, frozenset[str]]:
    """mid (or m-line index) -> the fingerprints in force on it (its own, or
    the session's), of active m-lines only."""
    session: set[str] = set()
    media: list[tuple[list[str], set[str], bool]] = []  # [mid], prints, active
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            fields = line[2:].split()
            active = len(fields) > 1 and fields[1].split("/")[0] != "0"
            media.append(([str(len(media))], set(), active))
        elif line.startswith("a=mid:") and media:
            media[-1][0][0] = line[len("a=mid:") :].strip()
        elif line.startswith("a=fingerprint:"):
            value = line[len("a=fingerprint:") :].strip().lower()
            (media[-1][1] if media else session).add(value)
    return {
        mid[0]: frozenset(prints or session) for mid, prints, active in media if active
    }


def _check_candidate_fields(fields: list[str]) -> None:
    # foundation component transport priority address port "typ" type ...
    if len(fields) < 8 or fields[6] != "typ":
        raise ValueError(
            f"candidate {' '.join(fields)[:60]!r} needs 'typ' as its 7th field"
        )
    _check_values(
        component=fields[1],
        protocol=fields[2],
        priority=fields[3],
        ip=fields[4],
        port=fields[5],
        kind=fields[7],
    )


def _check_values(
    *,
    component: object,
    protocol: object,
    priority: object,
    ip: object,
    port: object,
    kind: object,
) -> None:
    for name, value, low, high in (
        ("component", component, 1, 256),
        ("priority", priority, 0, 2**32 - 1),
        ("port", port, 0, 65535),
    ):
        try:
            number = int(str(value))
        except ValueError:
            raise ValueError(f"candidate {name} {value!r} is not a number") from None
        if not low <= number <= high:
            raise ValueError(f"candidate {name} {number} is outside {low}..{high}")
    if str(protocol).lower() not in ("udp", "tcp"):
        raise ValueError(f"candidate transport {protocol!r} is neither udp nor tcp")
    if kind not in _CANDIDATE_TYPES:
        raise ValueError(
            f"candidate type {kind!r} is not one of {sorted(_CANDIDATE_TYPES)}"
        )
    address = str(ip)
    if not address.endswith(".local"):  # an mDNS name is resolved by aioice
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(
                f"candidate address {address!r} is neither an IP address "
                "nor an mDNS name"
            ) from None


def check_candidate(
    candidate: RTCIceCandidate, mids: Collection[str] | None = None
) -> None:
    """Check a remote candidate before `addIceCandidate`.

    :param mids: the mids of the remote description, when there is one.
    :raises ValueError: for a field out of range, or a candidate for an m-line
        the remote description does not have.
    """
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        raise ValueError("Candidate must have either sdpMid or sdpMLineIndex")
    _check_values(
        component=candidate.component,
        protocol=candidate.protocol,
        priority=candidate.priority,
        ip=candidate.ip,
        port=candidate.port,
        kind=candidate.type,
    )
    if mids is not None:
        listed = list(mids)
        known_mid = candidate.sdpMid is not None and candidate.sdpMid in listed
        known_index = (
            candidate.sdpMLineIndex is not None
            and 0 <= candidate.sdpMLineIndex < len(listed)
        )
        if not (known_mid or known_index):
            raise ValueError(
                f"candidate for sdpMid {candidate.sdpMid!r} / sdpMLineIndex "
                f"{candidate.sdpMLineIndex!r}: the remote description has mids {listed}"
            )


def parse_candidate(
    sdp: str,
    *,
    sdpMid: str | None = None,
    sdpMLineIndex: int | None = None,
) -> RTCIceCandidate:
    """Parse a candidate string (`candidate:...` or `a=candidate:...`), as the
    `candidate` member of a browser's `RTCIceCandidateInit`.

    aiortc's `candidate_from_sdp` raises a bare `AssertionError` or
    `IndexError` on bad input; this raises `ValueError` saying why.
    """
    from aiortc.sdp import candidate_from_sdp

    text = sdp.strip()
    for prefix in ("a=", "candidate:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    fields = text.split()
    _check_candidate_fields(fields)
    candidate = candidate_from_sdp(text)
    candidate.sdpMid = sdpMid
    candidate.sdpMLineIndex = sdpMLineIndex
    return candidate
