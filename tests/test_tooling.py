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
