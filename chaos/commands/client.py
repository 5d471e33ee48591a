"""``wschaos client URL --rest-url URL``: the interactive terminal client (design §4)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from chaos.commands._argtypes import positive_float
from chaos.errors import UserError

__all__ = ["register", "run"]

#: Constructor options as the command line spells them, for error messages.
_FLAGS = {"url": "URL", "rest_url": "--rest-url", "time_scale": "--time-scale"}


def register(subparsers: Any) -> None:
    """Add the ``client`` subcommand."""
    parser = subparsers.add_parser(
        "client",
        help="an interactive client: type queries, watch the status line",
        description=(
            "Connect the resilient client to a WebSocket API and type queries. Answers, progress "
            "and every status change are printed; /reconnect is 'Reconnect Now', /quit leaves."
        ),
    )
    parser.add_argument(
        "url", metavar="URL", help="the WebSocket API, e.g. ws://127.0.0.1:3001/prod"
    )
    parser.add_argument(
        "--rest-url",
        metavar="URL",
        help="the REST API's stage base for the fallback, e.g. http://127.0.0.1:3000/prod",
    )
    parser.add_argument(
        "--time-scale",
        metavar="N",
        type=positive_float,
        default=1.0,
        help="divide the client's durations by N, as the emulator's --time-scale (default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the interactive client on stdin/stdout until /quit or end of input."""
    from client import InvalidOptions, ResilientWebSocketClient
    from client.interactive import run as interact

    try:
        client = ResilientWebSocketClient(
            args.url, rest_url=args.rest_url, time_scale=args.time_scale
        )
    except InvalidOptions as exc:
        flag = _FLAGS.get(exc.option, exc.option)
        raise UserError(f"{flag}: {exc.value!r}: {exc.problem}") from exc
    return asyncio.run(interact(client, sys.stdin, sys.stdout))
