"""``wschaos emulator``: run the API Gateway WebSocket emulator until SIGINT/SIGTERM (design §4).

Prints ``emulator: ws://HOST:PORT/STAGE rest: http://HOST:RPORT/STAGE`` once both ports listen
(with ``--tls``: ``wss``/``https`` and `` ca: FILE``). A bad config or option exits 2 with one line
naming the file, key and value.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from chaos.commands._argtypes import port, positive_float
from chaos.errors import UserError

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``emulator`` subcommand."""
    parser = subparsers.add_parser(
        "emulator",
        help="run the API Gateway WebSocket emulator",
        description="Serve an emulated API Gateway WebSocket API (and its REST API) until "
        "interrupted. Without --config: the built-in sample API.",
    )
    parser.add_argument("--config", metavar="FILE", help="API config (YAML)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port,
        default=3001,
        metavar="PORT",
        help="WebSocket, @connections and control port (default 3001)",
    )
    parser.add_argument(
        "--rest-port", type=port, default=3000, metavar="PORT", help="REST API port (default 3000)"
    )
    parser.add_argument("--stage", help="stage name (overrides the config's)")
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=1.0,
        metavar="N",
        help="divide every configured duration by N (default 1)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve wss:// and https:// with a local CA"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the emulator, print the ready line, serve until SIGINT or SIGTERM."""
    from emulator import ApiConfig, ConfigError, EmulatorError, EmulatorServer, load_config

    try:
        config = load_config(args.config) if args.config else ApiConfig()
        if args.stage is not None:
            config = config.with_overrides({"stage": args.stage}, source="--stage")
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    if args.port == args.rest_port != 0:
        raise UserError(f"--rest-port: {args.rest_port}: the same port as --port")
    server = EmulatorServer(
        config,
        host=args.host,
        port=args.port,
        rest_port=args.rest_port,
        time_scale=args.time_scale,
        tls=args.tls,
    )
    try:
        server.start()
    except OSError as exc:
        raise UserError(
            f"--host/--port: {args.host}: cannot listen: {exc.strerror or exc}"
        ) from None
    except ImportError as exc:  # --tls without trustme
        raise UserError(f"--tls: {exc}: install it with pip install 'wschaos[tls]'") from None
    except EmulatorError as exc:
        raise UserError(str(exc)) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        line = f"emulator: {server.ws_url} rest: {server.rest_url}"
        if server.ca_file is not None:
            line += f" ca: {server.ca_file}"
        print(line, flush=True)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    print("emulator: stopped", file=sys.stderr, flush=True)
    return 0
