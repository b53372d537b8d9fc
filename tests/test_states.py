from __future__ import annotations

import logging

import pytest

from rtcstate import (
    DtlsTransportState,
    IceConnectionState,
    IceTransportState,
    PeerConnectionState,
)


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (PeerConnectionState, "new connecting connected disconnected failed closed"),
        (
            IceConnectionState,
            "new checking connected completed disconnected failed closed",
        ),
        (
            IceTransportState,
            "new checking connected completed disconnected failed closed",
        ),
        (DtlsTransportState, "new connecting connected closed failed"),
    ],
)
def test_members_are_exactly_the_w3c_strings(enum: type, values: str) -> None:
    assert [m.value for m in enum] == values.split()


def test_members_compare_hash_and_print_as_plain_strings(caplog) -> None:
    state = PeerConnectionState.CONNECTED
    assert state == "connected"
    assert "connected" == state  # noqa: SIM300
    assert state != "failed"
    assert hash(state) == hash("connected")
    assert {"connected": 1}[state] == 1
    assert f"{state}" == "connected"
    assert str(state) == "connected"
    assert f"{state:>10}" == " connected"
    assert "%s" % state == "connected"  # noqa: UP031
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("state %s", state)
    assert caplog.records[-1].getMessage() == "state connected"
    assert PeerConnectionState("failed") is PeerConnectionState.FAILED
