"""Guards on the aiortc internals rtcstate relies on (see src/rtcstate/_internals.py).

If aiortc renames them, these fail loudly instead of states silently going wrong."""

from __future__ import annotations

import inspect

import aiortc
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

import rtcstate
from rtcstate import _internals


def test_aiortc_still_has_the_close_task_slot_and_uses_it_for_self_close() -> None:
    pc = RTCPeerConnection()
    assert getattr(pc, "_RTCPeerConnection__closeTask") is None  # noqa: B009
    source = inspect.getsource(RTCPeerConnection)
    assert "self.__closeTask is None" in source
    assert 'dtlsStates == set(["closed"])' in source


def test_aiortc_gatherer_still_records_remote_end_of_candidates() -> None:
    gatherer = RTCIceGatherer(iceServers=[])
    assert gatherer._remote_candidates_end is False
    assert "_remote_candidates_end = True" in inspect.getsource(aiortc.RTCIceTransport)


def test_missing_internal_is_a_loud_error() -> None:
    class Changed(RTCPeerConnection):
        pass

    pc = Changed()
    del pc._RTCPeerConnection__closeTask  # type: ignore[attr-defined]
    with pytest.raises(
        rtcstate.InternalsChangedError, match=r"verified with aiortc 1\.16"
    ):
        _internals.disable_self_close(pc)


def test_disable_self_close_is_applied() -> None:
    assert _internals.self_close_disabled(rtcstate.PeerConnection())
    pc = RTCPeerConnection()
    rtcstate.watch(pc)
    assert _internals.self_close_disabled(pc)
