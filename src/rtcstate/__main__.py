"""`python -m rtcstate`: the `rtcstate` command ([`rtcstate.tools.cli`][])."""

import sys

from .tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
