"""The built-in sample API (design §6): the seed's FinOps back end as Lambda handlers.

``ApiConfig()`` wires it up: ``ping`` answers ``pong`` (two-way), ``finops_query`` pushes progress
then a result through @connections, ``POST /{stage}/query`` answers over REST, and a query ledger
makes each ``query_id`` execute once whichever transport asks first.
"""

from emulator.sample.ledger import Outcome, QueryLedger, drop_ledger, ledger_for

__all__ = ["Outcome", "QueryLedger", "drop_ledger", "ledger_for"]
