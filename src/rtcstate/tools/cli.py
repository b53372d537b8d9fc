"""The `rtcstate` command (also `python -m rtcstate`): the demo and the
timeline renderer."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

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
    timeline_parser.add_argument(
        "input", help="JSON lines from 'rtcstate demo --json'; - for standard input"
    )
    timeline_parser.add_argument(
        "-o", "--output", required=True, help="where to write: a .svg or .html file"
    )
    timeline_parser.add_argument(
        "--title", default="rtcstate timeline", help="the heading of the timeline"
    )
    args = parser.parse_args(argv)
    if args.command == "timeline":
        return _timeline(args)
    if args.command == "demo":
        demo.check_arguments(demo_parser, args)
        try:
            return asyncio.run(demo.run(args))
        except KeyboardInterrupt:
            return 130
    return 2  # pragma: no cover (argparse requires a command)


def _timeline(args: argparse.Namespace) -> int:
    """`rtcstate timeline`: 0, or 2 with one line on stderr; the output file is
    written whole after the render, or not at all."""

    def fail(message: str) -> int:
        print(f"rtcstate timeline: {message}", file=sys.stderr)
        return 2

    output = Path(args.output)
    renderers = {".svg": timeline.render_svg, ".html": timeline.render_html}
    render = renderers.get(output.suffix.lower())
    if render is None:
        return fail(f"{args.output}: the output must end in .svg or .html")
    name = "<stdin>" if args.input == "-" else args.input
    try:
        items = timeline.load(args.input)
        if not any(item.get("type") in ("state", "transport") for item in items):
            raise ValueError(f"{name}: no state or transport changes to draw")
        text = render(items, args.title)
    except OSError as error:
        return fail(f"cannot read {name}: {error.strerror or error}")
    except ValueError as error:
        return fail(str(error))
    try:
        _write_whole(output, text)
    except OSError as error:
        return fail(f"cannot write {args.output}: {error.strerror or error}")
    return 0


def _write_whole(path: Path, text: str) -> None:
    """Write `text` to a new file beside `path`, then rename it over `path`:
    a failure leaves no partial file, and an older `path` as it was."""
    fd, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
