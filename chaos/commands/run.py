"""``wschaos run [PATH ...]``: run scenarios against a client and export the proof (design §4).

Everything given on the command line is checked before anything runs: the gates, ``--client``,
and every scenario file (a bad one is exit 2 with one line naming the file, step and key). Then
the runner starts the emulator and Toxiproxy (or uses ``--emulator`` and ``TOXIPROXY_URL``), runs
the scenarios ``--repeat`` times, prints the summary on stdout and writes the reports.

Exit status: 0 every scenario passed and every gate is met, 1 otherwise, 2 bad usage or input.
Ctrl-C stops after the scenario in progress (a second one aborts); the summary covers what ran.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from chaos.adapter import DEFAULT_CLIENT, load_factory
from chaos.commands._argtypes import non_negative_int, port, positive_float
from chaos.errors import UserError
from chaos.gates import GATE_NAMES, parse_gate
from chaos.metrics import MetricsExporter, push_metrics, write_metrics_file
from chaos.outcomes import RunResult
from chaos.progress import TerminalProgress
from chaos.proxies import TOXIPROXY_URL_ENV
from chaos.report import render_summary, write_json, write_junit
from chaos.runner import RunConfig, Runner
from chaos.scenario import Scenario, load_all

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run scenarios against a client and report",
        description="Run scenario files (default: the built-in suite) against a client under "
        "test, print a summary and export reports and metrics. Exit status: 0 all passed and "
        "gates met, 1 a scenario or gate failed, 2 bad usage or input.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or directories")
    parser.add_argument(
        "--client",
        default=DEFAULT_CLIENT,
        metavar="MODULE:FACTORY",
        help=f"the client adapter factory (default {DEFAULT_CLIENT})",
    )
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=60.0,
        metavar="N",
        help="divide configured durations by N (default 60; a scenario may set its own)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed client jitter and toxicity")
    parser.add_argument(
        "--repeat",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="passes over the scenarios (default 1; 0 = until stopped)",
    )
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report (wschaos.run/1)")
    parser.add_argument("--metrics-file", metavar="FILE", help="write metrics (Prometheus text)")
    parser.add_argument(
        "--metrics-port", type=port, metavar="PORT", help="serve /metrics while running"
    )
    parser.add_argument(
        "--metrics-host",
        default="0.0.0.0",
        metavar="HOST",
        help="address --metrics-port binds (default 0.0.0.0)",
    )
    parser.add_argument("--pushgateway", metavar="URL", help="push metrics to a Pushgateway")
    parser.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="EXPR",
        help=f"NAME OP VALUE, e.g. 'success_rate >= 0.99'; NAME in {', '.join(GATE_NAMES)}",
    )
    parser.add_argument(
        "--emulator", metavar="URL", help="use a running emulator (ws://HOST:PORT/STAGE)"
    )
    parser.add_argument(
        "--emulator-rest-port",
        type=port,
        metavar="PORT",
        help="that emulator's REST port (default 3000)",
    )
    parser.add_argument(
        "--upstream-host", metavar="HOST", help="how Toxiproxy reaches the emulator"
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="print every step")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    parser.set_defaults(func=run)


def load_scenarios(paths: list[str]) -> list[Scenario]:
    """The scenarios of ``paths``, or the built-in suite when none are given; all validated."""
    if paths:
        return load_all(paths)
    from scenarios import suite_path

    return load_all([suite_path()])


def build_config(args: argparse.Namespace) -> RunConfig:
    """Check every input and build the run's configuration; nothing runs yet.

    Raises:
        UserError: a bad gate, ``--client`` or scenario file.
    """
    gates = [parse_gate(expression) for expression in args.gate]
    outputs = {"--json": args.json, "--junit": args.junit, "--metrics-file": args.metrics_file}
    for option, path in outputs.items():
        if path is not None:
            _check_output(path, option)
    factory = load_factory(args.client)
    scenarios = load_scenarios(args.paths)
    toxiproxy_url = os.environ.get(TOXIPROXY_URL_ENV) or None
    return RunConfig(
        scenarios=scenarios,
        factory=factory,
        client_spec=args.client,
        time_scale=args.time_scale,
        seed=args.seed,
        repeat=args.repeat,
        gates=gates,
        registry=CollectorRegistry(),
        emulator_url=args.emulator,
        emulator_rest_port=args.emulator_rest_port,
        toxiproxy_url=toxiproxy_url,
        upstream_host=args.upstream_host,
    )


class _Exports(TerminalProgress):
    """Progress that also pushes metrics after each pass (a soak run is never "at the end").

    A push that fails is kept and reported once the run is over; the run goes on.
    """

    def __init__(self, *args: Any, pushgateway: str | None, registry: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pushgateway = pushgateway
        self.registry = registry
        self.push_error: UserError | None = None

    def iteration_finished(self, iteration: int, results: Any) -> None:
        super().iteration_finished(iteration, results)
        if self.pushgateway:
            try:
                push_metrics(self.pushgateway, self.registry)
            except UserError as exc:
                self.push_error = exc


async def _run(runner: Runner) -> RunResult:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = 0

    def interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            print(
                "\nwschaos run: stopping after the current scenario (Ctrl-C again to abort)",
                file=sys.stderr,
            )
            runner.stop()
        elif task is not None:
            task.cancel()

    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, interrupt)
            handled.append(sig)
    progress = runner.progress
    ticker = (
        asyncio.create_task(_tick(progress))
        if isinstance(progress, TerminalProgress) and progress.live
        else None
    )
    try:
        return await runner.run()
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for sig in handled:
            loop.remove_signal_handler(sig)


async def _tick(progress: TerminalProgress) -> None:
    """Keep the live line's clock moving through long steps (an ``idle: 2h`` at N=3600)."""
    while True:
        await asyncio.sleep(0.5)
        progress.refresh()


def run(args: argparse.Namespace) -> int:
    """Validate, run, report; returns the exit status."""
    config = build_config(args)
    # The client logs what it recovers from (a missed pong, a failed attempt): expected here, so
    # shown with -v only.
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    progress = _Exports(
        sys.stderr,
        live=sys.stderr.isatty(),
        verbose=args.verbose,
        quiet=args.quiet,
        pushgateway=args.pushgateway,
        registry=config.registry,
    )
    exporter = None
    if args.metrics_port is not None:
        exporter = MetricsExporter(config.registry, args.metrics_port, host=args.metrics_host)
        exporter.start()
    runner = Runner(config, progress)
    try:
        try:
            result = asyncio.run(_run(runner))
        except asyncio.CancelledError:
            progress.close()
            print("wschaos run: aborted", file=sys.stderr)
            return 130
        finally:
            progress.close()  # also when the services cannot be reached (a UserError)
        print(render_summary(result))
        try:
            if args.json:
                write_json(result, args.json)
            if args.junit:
                write_junit(result, args.junit)
        except OSError as exc:
            raise UserError(f"{exc.filename}: cannot write the report: {exc.strerror}") from exc
        if args.metrics_file:
            write_metrics_file(args.metrics_file, config.registry)
        if args.pushgateway:
            if progress.push_error is not None:
                raise progress.push_error
            if result.interrupted:  # the partial pass was not pushed yet
                push_metrics(args.pushgateway, config.registry)
    finally:
        if exporter is not None:
            exporter.stop()
    if result.interrupted and args.repeat != 0:
        return 130
    return 0 if result.passed else 1


def _check_output(path: str, option: str) -> None:
    """Reject an output path that cannot be a file before anything runs."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{option}: {path!r}: is a directory")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"{option}: {path!r}: cannot create a file there")
