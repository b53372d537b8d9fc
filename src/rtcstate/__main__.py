"""``python -m rtcstate`` / ``rtcstate``: the demo and the timeline renderer."""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import __version__, demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rtcstate", description="Trustworthy WebRTC connection state for aiortc."
    )
    parser.add_argument(
        "--version", action="version", version=f"rtcstate {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo",
        help="two peers over loopback with a live state timeline",
        description=(demo.__doc__ or "").split("\n\n")[0],
    )
    demo.add_arguments(demo_parser)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo.check_arguments(demo_parser, args)
        try:
            return asyncio.run(demo.run(args))
        except KeyboardInterrupt:
            return 130
    return 2  # pragma: no cover (argparse requires a command)


if __name__ == "__main__":
    sys.exit(main())
