"""A thin aiohttp client of the emulator's control API (design §5, ``/_wschaos/...``).

Used by the runner for gateway faults, back-end actions, resets and the query ledger. Every
call is bounded by the session's timeout; a non-2xx answer, no answer, or no answer in time
raises :class:`ControlError`.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from chaos.errors import ChaosError

__all__ = ["ControlError", "EmulatorControl"]


class ControlError(ChaosError):
    """The control API answered ``status`` (0 = unreachable) with ``message``."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        where = f"{method} {path}"
        text = f"{where}: unreachable: {message}" if status == 0 else f"{where}: {status} {message}"
        super().__init__(text)
        self.status = status
        self.message = message


class EmulatorControl:
    """The control API of the emulator at ``base_url`` (``http://HOST:PORT``, no stage).

    Args:
        base_url: the emulator's WebSocket port as an HTTP URL.
        session: the aiohttp session to use (owned by the caller).
    """

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """One call; returns the decoded JSON body, or None for an empty one.

        Raises:
            ControlError: unreachable or a non-2xx answer.
        """
        url = f"{self.base_url}/_wschaos/{path}"
        try:
            async with self._session.request(method, url, json=body) as response:
                text = await response.text()
                if response.status >= 300:
                    raise ControlError(method, f"/_wschaos/{path}", response.status, text.strip())
                if not text.strip():
                    return None
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # aiohttp reports the session's total timeout as a bare TimeoutError.
            problem = str(exc) or ("no answer in time" if isinstance(exc, TimeoutError) else "")
            raise ControlError(
                method, f"/_wschaos/{path}", 0, problem or type(exc).__name__
            ) from exc

    async def reset(self) -> None:
        """Clear faults, close every connection, clear the ledger, restore the config."""
        await self.request("POST", "reset")

    async def patch_config(self, changes: dict[str, Any]) -> Any:
        """Change timing or limit keys of the running API."""
        return await self.request("PATCH", "config", changes)

    async def add_fault(self, body: dict[str, Any]) -> Any:
        """Add a gateway fault; returns the control API's answer (with the fault's id)."""
        return await self.request("POST", "faults", body)

    async def clear_faults(self) -> None:
        """Remove every gateway fault."""
        await self.request("DELETE", "faults")

    async def close_all(self, body: dict[str, Any]) -> None:
        """Close every connection (``{"code", "reason"}`` or ``{"abrupt": true}``)."""
        await self.request("POST", "close-all", body)

    async def backend(self, action: str, body: dict[str, Any]) -> Any:
        """A back-end action through the real @connections path."""
        return await self.request("POST", f"backend/{action}", body)

    async def connections(self) -> list[dict[str, Any]]:
        """The live connections."""
        answer = await self.request("GET", "connections")
        if isinstance(answer, dict):
            answer = answer.get("connections", [])
        return list(answer or [])

    async def ledger(self) -> dict[str, int]:
        """Executions per ``query_id`` since the last reset."""
        answer = await self.request("GET", "ledger") or {}
        queries = answer.get("queries", {}) if isinstance(answer, dict) else {}
        return {str(key): int(value) for key, value in queries.items()}
