"""The resilient WebSocket client of wschaos (design §7).

::

    from client import ResilientWebSocketClient

    async with ResilientWebSocketClient(
        "ws://127.0.0.1:3001/prod", rest_url="http://127.0.0.1:3000/prod"
    ) as client:
        client.subscribe(lambda change: print(change.text))
        result = await client.send_query("EC2 spend last month")
        print(result.transport, result.answer)

Modules: ``state`` (the pure state machine), ``backoff``, ``errors`` (the exception tree and the
failure classifier), ``protocol`` (message shapes and size limits), ``options``, ``connection``
and ``client`` (the asyncio shell), ``rest`` (the fallback), ``metrics``, ``interactive``
(``wschaos client``).
"""

from client.client import ResilientWebSocketClient, StatusCallback
from client.errors import (
    ClientError,
    ConnectFailure,
    FailureKind,
    InvalidOptions,
    QueryFailed,
    QueryTooLarge,
)
from client.protocol import FRAME_LIMIT, MESSAGE_LIMIT, QueryResult
from client.state import ConnectionState, ReconnectTrigger, StatusChange, status_text

__all__ = [
    "FRAME_LIMIT",
    "MESSAGE_LIMIT",
    "ClientError",
    "ConnectFailure",
    "ConnectionState",
    "FailureKind",
    "InvalidOptions",
    "QueryFailed",
    "QueryResult",
    "QueryTooLarge",
    "ReconnectTrigger",
    "ResilientWebSocketClient",
    "StatusCallback",
    "StatusChange",
    "status_text",
]
