"""The remote's keepalives on the selected pair, answered by hand.

An idle connection's remote sends a keepalive (an ICE binding request, RFC 7675's
consent check) every second or so; answering it through aioice's parser and
transaction machinery is most of the idle cost of a connection. Where aioice would do
nothing but answer, [`answer`][rtcstate._responder.answer] answers with the bytes
aioice's `request_received` would send; anything else goes on to aioice.
"""

from __future__ import annotations

from typing import Any

from . import _shims
from . import _stun as stun

__all__ = ["answer"]


def answer(
    connection: Any,
    pair: Any,
    protocol: Any,
    remote_addr: tuple[str, int],
    mac: stun.Macs,
    data: bytes,
) -> bool:
    """Answer the binding request `data` that arrived on aioice's `pair`
    (whose `protocol` sends to `remote_addr`) of `connection`, as aioice's
    request_received would; whether it was answered.

    Only a request aioice would answer and otherwise ignore is taken: a binding
    request that aioice's parser reads, with our exact USERNAME, a valid
    MESSAGE-INTEGRITY, no role attribute that conflicts (either one may), and no
    USE-CANDIDATE unless it changes nothing
    ([`rtcstate._shims.nomination_changes_nothing`][]), on a pair that has
    succeeded, once the early checks are done
    ([`rtcstate._shims.answers_only`][]). For such a request on a known,
    succeeded pair, aioice's check_incoming changes nothing.
    """
    if connection.remote_username is None or not _shims.answers_only(connection, pair):
        return False
    password = connection.local_password
    attributes = stun.authenticated(data, password, mac)
    if attributes is None:
        return False  # aioice answers 400 or 401, or drops it
    controlling = connection.ice_controlling
    if (
        attributes.get("USERNAME")
        != f"{connection.local_username}:{connection.remote_username}"
        or ("ICE-CONTROLLING" in attributes and controlling)
        or ("ICE-CONTROLLED" in attributes and not controlling)
        or (
            "USE-CANDIDATE" in attributes
            and not controlling
            and not _shims.nomination_changes_nothing(connection, pair)
        )
    ):
        return False
    transport = _shims.datagram_transport(protocol)
    if transport is None or _shims.transport_closing(transport):
        return False
    _shims.send_datagram(
        transport,
        stun.binding_response(data[8:20], remote_addr, mac(password)),
        remote_addr,
    )
    return True
