"""The sample API's query ledger: each ``query_id`` executes once (design §6).

The first request for an id, on either transport, executes the query; any later one waits for
and gets the stored outcome, so a retry after a lost reply is answered and nothing runs twice.
The ledger counts executions per id; the runner reads them (``GET /_wschaos/ledger``) to count
duplicated queries.

Ledgers are kept per API id, because handlers are plain Lambda functions with no emulator object
to hold state: several emulators in one process each get their own. Outcomes are futures of the
emulator's event loop, so the ledger is used from async handlers only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "QueryLedger", "drop_ledger", "ledger_for"]


@dataclass(frozen=True)
class Outcome:
    """What a query produced: an ``answer``, or an error ``message``."""

    answer: dict[str, Any] | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the query produced an answer."""
        return self.answer is not None


class QueryLedger:
    """Executions and outcomes by ``query_id``."""

    def __init__(self) -> None:
        self._outcomes: dict[str, asyncio.Future[Outcome]] = {}
        self._executions: dict[str, int] = {}

    def seen(self, query_id: str) -> bool:
        """Whether this id already executed (or is executing)."""
        return query_id in self._outcomes

    async def run_once(self, query_id: str, execute: Callable[[], Outcome]) -> Outcome:
        """The outcome for ``query_id``, executing ``execute`` only if nobody has yet."""
        pending = self._outcomes.get(query_id)
        if pending is None:
            pending = self._outcomes[query_id] = asyncio.get_running_loop().create_future()
            self._executions[query_id] = self._executions.get(query_id, 0) + 1
            try:
                pending.set_result(execute())
            except Exception as exc:
                pending.set_result(Outcome(message=f"query failed: {exc}"))
        return await asyncio.shield(pending)

    def executions(self) -> dict[str, int]:
        """Executions per ``query_id``."""
        return dict(self._executions)

    def clear(self) -> None:
        """Forget every outcome and count (``POST /_wschaos/reset``)."""
        self._outcomes.clear()
        self._executions.clear()


_ledgers: dict[str, QueryLedger] = {}
_lock = threading.Lock()


def ledger_for(api_id: str) -> QueryLedger:
    """The ledger of the API ``api_id`` (created on first use)."""
    with _lock:
        ledger = _ledgers.get(api_id)
        if ledger is None:
            ledger = _ledgers[api_id] = QueryLedger()
        return ledger


def drop_ledger(api_id: str) -> None:
    """Forget the ledger of an API that stopped."""
    with _lock:
        _ledgers.pop(api_id, None)
