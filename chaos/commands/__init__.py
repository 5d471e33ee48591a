"""One module per ``wschaos`` subcommand; each exposes ``register(subparsers)``.

:mod:`chaos.cli` imports them by name (its ``COMMANDS`` tuple), so nothing is re-exported here;
``_argtypes`` holds the option value types they share.
"""

__all__: list[str] = []
