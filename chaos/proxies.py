"""Toxiproxy control for runs: a thin async client of the HTTP API and the proxies of one run.

Everything above this module talks to Toxiproxy only through its HTTP API, so the same scenario
runs against the embedded server (:class:`chaos.toxiproxy.EmbeddedToxiproxy`) or a real Toxiproxy
at ``TOXIPROXY_URL``. The client is async (aiohttp) and can update toxics, which toxiproxy-python
cannot.

Example::

    async with ToxiproxyClient(tp.url) as client:
        proxies = RunProxies(client, "run1", {"websocket": "127.0.0.1:3001"})
        await proxies.create()                      # {"websocket": "127.0.0.1:41234"}
        await proxies.add_toxic("websocket", type="latency", attributes={"latency": 100})
        await proxies.cut("all")
        await proxies.restore("all")
        await proxies.destroy()
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from chaos.errors import ToxiproxyError

__all__ = [
    "ALL",
    "TOXIPROXY_URL_ENV",
    "Proxy",
    "RunProxies",
    "Toxic",
    "ToxiproxyClient",
    "listen_host_for",
    "normalize_url",
    "url_from_env",
]

#: The environment variable naming a running Toxiproxy (as Toxiproxy's own CLI reads it).
TOXIPROXY_URL_ENV = "TOXIPROXY_URL"

#: The target meaning every proxy of a run.
ALL = "all"

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def normalize_url(value: str) -> str:
    """A Toxiproxy API address as a URL: ``http://`` added when it has no scheme (Toxiproxy's
    own CLI accepts ``host:port``)."""
    return value if "://" in value else f"http://{value}"


def url_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The Toxiproxy URL from ``TOXIPROXY_URL`` (``http://`` added when missing), or ``None``."""
    value = (os.environ if environ is None else environ).get(TOXIPROXY_URL_ENV, "").strip()
    return normalize_url(value) if value else None


def listen_host_for(api_host: str) -> str:
    """Where a Toxiproxy whose API is reached at ``api_host`` should open a run's proxies.

    A Toxiproxy on this machine (a loopback address, ``localhost``) listens on that loopback
    address; one reached by another address or a name (a container) on every interface, so the
    client under test can dial the proxies where it reaches the API.
    """
    if api_host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(api_host.strip("[]"))
    except ValueError:
        return "0.0.0.0"  # a name: a service in another container
    return str(address) if address.is_loopback else "0.0.0.0"


def _host_port(host: str, port: int | str) -> str:
    """``host:port``, an IPv6 host in brackets (once)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


@dataclass(frozen=True)
class Toxic:
    """A toxic as the API reports it.

    Attributes:
        attributes: wire attributes in Toxiproxy units (ms, KB/s, bytes, µs for slicer delay).
        toxicity: probability in ``[0, 1]`` that a connection gets the toxic.
    """

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Toxic:
        """Build from the API's toxic object."""
        return cls(
            name=data["name"],
            type=data["type"],
            stream=data["stream"],
            toxicity=float(data["toxicity"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    """A proxy as the API reports it.

    Attributes:
        listen: the bound address once enabled (``127.0.0.1:41234``; ``[::]:p`` for a wildcard).
        upstream: where connections go, as given.
    """

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proxy:
        """Build from the API's proxy object."""
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=[Toxic.from_json(t) for t in data.get("toxics") or []],
        )


def _segment(name: str) -> str:
    return quote(name, safe="")


class ToxiproxyClient:
    """A thin async client of Toxiproxy's HTTP API.

    Args:
        url: the API's base URL, e.g. ``http://127.0.0.1:8474``.
        timeout: seconds allowed per request (Toxiproxy itself answers 503 after 25 s).

    Every method raises :class:`~chaos.errors.ToxiproxyError` (``status``, ``message``) when the
    API answers an error; ``status`` 0 means the API could not be reached.
    """

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ToxiproxyClient:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session; the client may be used again afterwards (a new session)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        url = URL(self.url + path, encoded=True)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self._ensure_session().request(
                method, url, data=data, headers=headers
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise ToxiproxyError(response.status, _error_message(raw))
        except aiohttp.ClientError as exc:
            raise ToxiproxyError(0, f"cannot reach Toxiproxy at {self.url}: {exc}") from exc
        except TimeoutError as exc:
            raise ToxiproxyError(0, f"Toxiproxy at {self.url} did not answer in time") from exc
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            # Not Toxiproxy answering (another service on that port, an HTTP proxy's page).
            raise ToxiproxyError(
                response.status, f"{self.url} answered {method} {path} with non-JSON: {raw[:80]!r}"
            ) from None

    # --- server -------------------------------------------------------------------------------

    async def version(self) -> str:
        """The server's version, e.g. ``2.12.0``."""
        return str((await self._request("GET", "/version"))["version"])

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        await self._request("POST", "/reset")

    # --- proxies ------------------------------------------------------------------------------

    async def proxies(self) -> dict[str, Proxy]:
        """Every proxy by name."""
        data = await self._request("GET", "/proxies")
        return {name: Proxy.from_json(value) for name, value in data.items()}

    async def create_proxy(
        self, name: str, *, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        """Create a proxy; ``listen`` port 0 picks a free port (see the returned ``listen``).

        Raises:
            ToxiproxyError: 409 the name exists; 500 the address cannot be bound.
        """
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(await self._request("POST", "/proxies", body))

    async def get_proxy(self, name: str) -> Proxy:
        """One proxy. Raises :class:`~chaos.errors.ToxiproxyError` 404 if absent."""
        return Proxy.from_json(await self._request("GET", f"/proxies/{_segment(name)}"))

    async def delete_proxy(self, name: str) -> None:
        """Delete a proxy, closing its connections. Raises 404 if absent."""
        await self._request("DELETE", f"/proxies/{_segment(name)}")

    async def set_enabled(self, name: str, enabled: bool) -> Proxy:
        """Enable or disable a proxy; disabling drops every connection and refuses new ones."""
        body = {"enabled": enabled}
        return Proxy.from_json(await self._request("POST", f"/proxies/{_segment(name)}", body))

    # --- toxics -------------------------------------------------------------------------------

    async def toxics(self, proxy: str) -> list[Toxic]:
        """A proxy's toxics, upstream ones first."""
        data = await self._request("GET", f"/proxies/{_segment(proxy)}/toxics")
        return [Toxic.from_json(t) for t in data]

    async def add_toxic(
        self,
        proxy: str,
        *,
        type: str,
        attributes: Mapping[str, int] | None = None,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        """Add a toxic (wire units); ``name`` defaults to ``<type>_<stream>`` on the server.

        Raises:
            ToxiproxyError: 400 invalid type, stream or attributes; 404 no such proxy; 409 the name
                exists.
        """
        body: dict[str, Any] = {
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }
        if name is not None:
            body["name"] = name
        return Toxic.from_json(
            await self._request("POST", f"/proxies/{_segment(proxy)}/toxics", body)
        )

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: Mapping[str, int] | None = None,
        toxicity: float | None = None,
    ) -> Toxic:
        """Merge ``attributes`` into a toxic (others keep their values); ``toxicity`` ``None``
        keeps it. Live connections take the change at once."""
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            body["toxicity"] = toxicity
        path = f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}"
        return Toxic.from_json(await self._request("POST", path, body))

    async def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove one toxic. Raises 404 if the proxy or toxic is absent."""
        await self._request("DELETE", f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}")

    async def clear_toxics(self, proxy: str) -> None:
        """Remove every toxic of one proxy."""
        for toxic in await self.toxics(proxy):
            try:
                await self.remove_toxic(proxy, toxic.name)
            except ToxiproxyError as exc:
                if exc.status != 404:  # removed concurrently: the goal is reached
                    raise


def _error_message(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text or "(empty answer)"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return text


class RunProxies:
    """The proxies one run needs, named ``<prefix>-<target>``.

    Args:
        client: the API client.
        prefix: the run's prefix, so concurrent runs on one Toxiproxy never collide.
        upstreams: target name -> upstream ``host:port`` as Toxiproxy must dial it, e.g.
            ``{"websocket": "127.0.0.1:3001", "rest": "127.0.0.1:3000"}``.
        listen_host: where the proxies listen (``0.0.0.0`` for a Toxiproxy in a container).
        dial_host: the host a local client uses to reach the proxies; ``None`` uses the host the
            server reports, with a wildcard (``[::]``, ``0.0.0.0``) replaced by ``127.0.0.1``.
        listen_ports: target -> fixed listen port (e.g. ports published by docker compose);
            others get a free port.
    """

    def __init__(
        self,
        client: ToxiproxyClient,
        prefix: str,
        upstreams: Mapping[str, str],
        listen_host: str = "127.0.0.1",
        *,
        dial_host: str | None = None,
        listen_ports: Mapping[str, int] | None = None,
    ) -> None:
        if ALL in upstreams:
            raise ValueError(f"{ALL!r} cannot name a proxy target: it means every target")
        self.client = client
        self.prefix = prefix
        self.upstreams = dict(upstreams)
        self.listen_host = listen_host
        self.dial_host = dial_host
        self.listen_ports = dict(listen_ports or {})
        self._proxies: dict[str, Proxy] = {}

    def name(self, target: str) -> str:
        """The proxy name of a target: ``<prefix>-<target>``."""
        self._check(target)
        return f"{self.prefix}-{target}"

    def targets(self, target: str) -> list[str]:
        """The targets ``target`` designates: itself, or every target for ``"all"``.

        Raises:
            ValueError: an unknown target.
        """
        if target == ALL:
            return list(self.upstreams)
        self._check(target)
        return [target]

    def _check(self, target: str) -> None:
        if target not in self.upstreams:
            known = ", ".join(self.upstreams)
            raise ValueError(f"unknown proxy target {target!r} (expected one of {known}, or all)")

    def _listen_address(self, target: str) -> str:
        return _host_port(self.listen_host, self.listen_ports.get(target, 0))

    async def create(self) -> dict[str, str]:
        """Create every proxy (replacing a leftover of the same name).

        Returns:
            target -> the ``host:port`` a local client dials (see :meth:`listen`).
        """
        for target, upstream in self.upstreams.items():
            name = self.name(target)
            listen = self._listen_address(target)
            try:
                proxy = await self.client.create_proxy(name, upstream=upstream, listen=listen)
            except ToxiproxyError as exc:
                if exc.status != 409:
                    raise
                await self.client.delete_proxy(name)  # a leftover of an interrupted run
                proxy = await self.client.create_proxy(name, upstream=upstream, listen=listen)
            self._proxies[target] = proxy
        return {target: self.listen(target) for target in self.upstreams}

    def listen(self, target: str) -> str:
        """The ``host:port`` a local client dials to go through ``target``'s proxy.

        Raises:
            ValueError: unknown target; KeyError: :meth:`create` was not called.
        """
        self._check(target)
        proxy = self._proxies[target]
        host, _, port = proxy.listen.rpartition(":")
        if self.dial_host is not None:
            host = self.dial_host
        elif host in _WILDCARD_HOSTS:
            host = "127.0.0.1"
        return _host_port(host, port)

    def proxy(self, target: str) -> Proxy:
        """The proxy of ``target`` as last reported by the server."""
        self._check(target)
        return self._proxies[target]

    async def cut(self, target: str) -> None:
        """Disable ``target``'s proxy (or all): connections drop, new ones are refused."""
        for each in self.targets(target):
            self._proxies[each] = await self.client.set_enabled(self.name(each), False)

    async def restore(self, target: str) -> None:
        """Enable ``target``'s proxy (or all) again, on the same port."""
        for each in self.targets(target):
            self._proxies[each] = await self.client.set_enabled(self.name(each), True)

    async def add_toxic(
        self,
        target: str,
        *,
        type: str,
        attributes: Mapping[str, int],
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> list[Toxic]:
        """Add a toxic to ``target``'s proxy (or to each, for ``"all"``); wire units."""
        return [
            await self.client.add_toxic(
                self.name(each),
                type=type,
                attributes=attributes,
                name=name,
                stream=stream,
                toxicity=toxicity,
            )
            for each in self.targets(target)
        ]

    async def update_toxic(
        self,
        target: str,
        name: str,
        *,
        attributes: Mapping[str, int] | None = None,
        toxicity: float | None = None,
    ) -> list[Toxic]:
        """Update the toxic ``name`` on ``target``'s proxy (or on each, for ``"all"``)."""
        return [
            await self.client.update_toxic(
                self.name(each), name, attributes=attributes, toxicity=toxicity
            )
            for each in self.targets(target)
        ]

    async def clear_toxics(self, target: str) -> None:
        """Remove every toxic from ``target``'s proxy (or from all)."""
        for each in self.targets(target):
            await self.client.clear_toxics(self.name(each))

    async def destroy(self) -> None:
        """Delete the run's proxies; idempotent (absent proxies are fine)."""
        for target in self.upstreams:
            try:
                await self.client.delete_proxy(self.name(target))
            except ToxiproxyError as exc:
                if exc.status != 404:
                    raise
            self._proxies.pop(target, None)
