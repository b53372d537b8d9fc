"""What every shim shares: the error an aiortc or aioice that changed raises."""

from __future__ import annotations

import logging

logger = logging.getLogger("rtcstate")

__all__ = ["InternalsChangedError", "_changed", "logger"]


class InternalsChangedError(RuntimeError):
    """The installed aiortc no longer has an internal rtcstate relies on."""


def _changed(what: str) -> InternalsChangedError:
    import aioice

    return InternalsChangedError(
        f"aioice {getattr(aioice, '__version__', '?')}: {what}; rtcstate was verified "
        "with aioice 0.13"
    )
