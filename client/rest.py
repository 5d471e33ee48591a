"""The REST fallback: ``POST {rest_url}/query`` with the query's id (design §6), over aiohttp."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from client.errors import AnswerTimeout, TransportError
from client.protocol import rest_body

__all__ = ["RestFallback"]


class RestFallback:
    """Asks the REST API for a query's answer.

    Args:
        rest_url: the REST API's stage base, e.g. ``http://127.0.0.1:3000/prod``.

    The HTTP session is opened on first use and released by :meth:`close`; the object can be used
    again afterwards.
    """

    def __init__(self, rest_url: str) -> None:
        self.endpoint = rest_url.rstrip("/") + "/query"
        self._session: aiohttp.ClientSession | None = None

    async def query(self, query_id: str, text: str, *, timeout: float) -> dict[str, Any]:
        """Return the answer for ``query_id``.

        Args:
            timeout: real seconds for the whole request.

        Raises:
            TransportError: no answer (refused, timed out, a non-200 status, a malformed body);
                the message says which.
        """
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    self.endpoint, json=rest_body(query_id, text)
                ) as response:
                    body = await response.text()
        except TimeoutError as exc:
            raise AnswerTimeout("rest", f"no answer within {timeout:.3g}s") from exc
        except (aiohttp.ClientError, UnicodeDecodeError) as exc:
            # UnicodeDecodeError: a body in another charset than it declares; an answer is JSON.
            raise TransportError("rest", f"POST {self.endpoint}: {exc}") from exc
        if response.status != 200:
            raise TransportError("rest", f"HTTP {response.status}: {body[:200]}")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise TransportError("rest", f"answer is not JSON: {body[:200]!r}") from exc
        answer = payload.get("answer") if isinstance(payload, dict) else None
        if not isinstance(answer, dict):
            raise TransportError("rest", f"answer without an answer object: {body[:200]}")
        if payload.get("query_id") != query_id:
            raise TransportError("rest", f"answer for another query: {payload.get('query_id')!r}")
        return answer

    async def close(self) -> None:
        """Release the HTTP session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
