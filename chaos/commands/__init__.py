"""One module per ``wschaos`` subcommand; each exposes ``register(subparsers)``."""
