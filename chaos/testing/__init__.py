"""Adapters and helpers for testing the harness itself.

:mod:`chaos.testing.naive` is the seed's naive client (no heartbeat, no reconnect, no fallback):
run the suite with ``--client chaos.testing.naive:naive_client`` to see it fail.
"""

from chaos.testing.naive import NaiveClient, naive_client

__all__ = ["NaiveClient", "naive_client"]
