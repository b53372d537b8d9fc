"""The test setup itself: the guarantees the suite claims to run under."""

from __future__ import annotations

import asyncio
import warnings

import pytest


@pytest.mark.asyncio
async def test_asyncio_debug_mode_is_on() -> None:
    assert asyncio.get_running_loop().get_debug()


def test_warnings_are_errors() -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn("x", DeprecationWarning, stacklevel=1)


def test_the_package_ships_its_bsd_3_clause_license() -> None:
    import importlib.metadata
    from pathlib import Path

    metadata = importlib.metadata.metadata("rtcstate")
    assert metadata["License"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    text = (Path(__file__).parent.parent / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
