"""The ``wschaos`` console script: a thin ``main()`` over one module per subcommand.

Each module in :data:`COMMANDS` exposes ``register(subparsers)`` (adds its parser and sets
``func``) and a ``func(args) -> int`` returning the exit status. Exit statuses: 0 success, 1 a
scenario or gate failed, 2 bad usage or input. A :class:`~chaos.errors.UserError` becomes one line
on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from chaos.errors import UserError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand modules, in the order ``wschaos --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "chaos.commands.emulator",
    "chaos.commands.client",
    "chaos.commands.run",
    "chaos.commands.scenarios",
    "chaos.commands.toxiproxy",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="wschaos",
        description="Emulate API Gateway WebSocket APIs and prove a client survives chaos.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wschaos``; returns the exit status (also used by ``python -m chaos``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"wschaos {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
