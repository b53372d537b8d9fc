"""SDP rewrites, to hand a peer a description it should fail or wait on."""

from __future__ import annotations


def _lines(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def strip_candidates(sdp: str) -> str:
    """Remove every candidate and end-of-candidates line (as if none were trickled)."""
    return _lines(
        [
            line
            for line in sdp.splitlines()
            if not line.startswith(("a=candidate:", "a=end-of-candidates"))
        ]
    )


def tamper_fingerprints(sdp: str) -> str:
    """Change the first byte of every a=fingerprint (every algorithm offered)."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=fingerprint:"):
            head, value = line.split(" ", 1)
            line = f"{head} {'11' if value[:2] == '00' else '00'}{value[2:]}"
        out.append(line)
    return _lines(out)


def wrong_ice_password(sdp: str) -> str:
    """Replace every a=ice-pwd with one the other side never chose."""
    return _lines(
        [
            "a=ice-pwd:" + "x" * 24 if line.startswith("a=ice-pwd:") else line
            for line in sdp.splitlines()
        ]
    )


def set_ice(sdp: str, field: str, value: str) -> str:
    """Replace every `a=<field>` (ice-ufrag or ice-pwd) with `value`."""
    prefix = f"a={field}:"
    return _lines(
        [
            prefix + value if line.startswith(prefix) else line
            for line in sdp.splitlines()
        ]
    )
