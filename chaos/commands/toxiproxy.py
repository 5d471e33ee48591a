"""``wschaos toxiproxy``: serve the embedded Toxiproxy-compatible API until SIGINT/SIGTERM.

Prints ``toxiproxy: http://HOST:PORT`` once the API listens and ``--populate`` proxies are bound.
Unlike Toxiproxy's ``-config`` (whose errors are only logged), a bad ``--populate`` file exits 2
with one line naming the file and the problem.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from chaos.commands._argtypes import port
from chaos.errors import UserError

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``toxiproxy`` subcommand."""
    parser = subparsers.add_parser(
        "toxiproxy",
        help="run the embedded Toxiproxy-compatible server",
        description="Serve Toxiproxy's HTTP API (version 2.12.0) with the same toxics, until "
        "interrupted. Clients of Toxiproxy's API, such as toxiproxy-python, drive it unchanged.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8474, help="API port (default 8474)")
    parser.add_argument(
        "--populate",
        metavar="FILE",
        help="JSON array of proxies to create at start, as POST /populate takes",
    )
    parser.add_argument(
        "--seed", type=int, help="seed for toxicity draws, jitter and slicing (repeatable runs)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the server, print the ready line, serve until SIGINT or SIGTERM."""
    populate: bytes | None = None
    if args.populate is not None:
        try:
            with open(args.populate, "rb") as file:
                populate = file.read()
        except OSError as exc:
            raise UserError(f"{args.populate}: cannot read: {exc.strerror or exc}") from None
    asyncio.run(_serve(args, populate))
    print("toxiproxy: stopped", file=sys.stderr, flush=True)
    return 0


async def _serve(args: argparse.Namespace, populate: bytes | None) -> None:
    from chaos.toxiproxy import ApiError, ToxiproxyServer

    server = ToxiproxyServer(seed=args.seed)
    try:
        await server.start(args.host, args.port)
    except OSError as exc:
        raise UserError(
            f"--host/--port: {args.host}:{args.port}: cannot listen: {exc.strerror or exc}"
        ) from None
    try:
        if populate is not None:
            try:
                await server.populate(populate)
            except ApiError as exc:
                raise UserError(f"{args.populate}: {exc.message}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"toxiproxy: {server.url}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
