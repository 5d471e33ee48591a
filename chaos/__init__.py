"""Faults and the harness: proving that a WebSocket client recovers (design §1-§2, §8-§10).

Subpackages and modules, by job::

    toxiproxy/        the embedded Toxiproxy-compatible server (network faults)
    proxies.py        Toxiproxy control: an async API client and the proxies of one run
    control.py        the emulator's /_wschaos control API, as the runner calls it
    scenario.py       scenario files: the model and its validation
    runner.py         runs scenarios against a client adapter (adapter.py) and measures them
    services.py       the emulator and Toxiproxy a run uses, in-process or running ones
    outcomes.py, gates.py, metrics.py, pooling.py, report/, progress.py   what a run proves
    cli.py, commands/ the ``wschaos`` console script, one module per subcommand
    testing/, pytest_plugin.py   the pytest plugin and its reusable core
    errors.py         the package's exception tree

Nothing is re-exported here: the CLI and the pytest plugin import only the modules they use.
"""

__all__: list[str] = []
