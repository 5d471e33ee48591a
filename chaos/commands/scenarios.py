"""``wschaos scenarios [PATH ...]``: list scenarios, one line each: name and description.

Without a path it lists the built-in suite. Every file is validated as ``wschaos run`` would, so
the command doubles as a check of scenario files (exit 2 on the first bad one).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``scenarios`` subcommand."""
    parser = subparsers.add_parser(
        "scenarios",
        help="list (and validate) scenarios",
        description="List scenario files (default: the built-in suite): name and description.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or directories")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per scenario; returns 0."""
    from chaos.commands.run import load_scenarios

    scenarios = load_scenarios(args.paths)
    width = max(len(scenario.name) for scenario in scenarios)
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.description}".rstrip())
    return 0
