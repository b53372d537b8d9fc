"""The ``rtcstate`` command (also ``python -m rtcstate``): the demo and the
timeline renderer."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .. import __version__
from . import demo, timeline


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
    timeline_parser = commands.add_parser(
        "timeline",
        help="render a recorded history (the demo's --json) as an HTML or SVG timeline",
    )
    timeline_parser.add_argument("input", help="JSON lines from 'rtcstate demo --json'")
    timeline_parser.add_argument(
        "-o", "--output", required=True, help="where to write (.svg or .html)"
    )
    timeline_parser.add_argument("--title", default="rtcstate timeline")
    args = parser.parse_args(argv)
    if args.command == "timeline":
        try:
            items = timeline.load(args.input)
        except (OSError, ValueError) as error:
            print(f"rtcstate timeline: {error}", file=sys.stderr)
            return 1
        render = (
            timeline.render_svg
            if args.output.endswith(".svg")
            else timeline.render_html
        )
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(render(items, args.title))
        return 0
    if args.command == "demo":
        demo.check_arguments(demo_parser, args)
        try:
            return asyncio.run(demo.run(args))
        except KeyboardInterrupt:
            return 130
    return 2  # pragma: no cover (argparse requires a command)
