"""Every proxy of a server, by name, and the operations on several of them at once.

Mirrors Toxiproxy's ``proxy_collection.go`` and the proxy handlers of ``api.go``: create, update,
delete, ``/populate`` (validate all, then create or replace one by one, stop at the first failure
without rolling back) and ``/reset`` (enable every proxy, remove every toxic).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from chaos.toxiproxy import errors
from chaos.toxiproxy.addr import AddressError, resolve
from chaos.toxiproxy.gojson import GoField, GoStruct, decode_struct, decode_struct_list, join_object
from chaos.toxiproxy.proxy import Proxy

__all__ = ["PROXY_STRUCT", "ProxyCollection", "ProxyInput"]

#: Toxiproxy's ``Proxy`` struct as its decoder sees it (``Logger`` is an exported field too).
PROXY_STRUCT = GoStruct(
    "Proxy",
    "toxiproxy.Proxy",
    (
        GoField("name", "string"),
        GoField("listen", "string"),
        GoField("upstream", "string"),
        GoField("enabled", "bool"),
        GoField("Logger", "zerolog.Logger"),
    ),
)
# /populate decodes into []struct{ Proxy; Enabled *bool } so that a missing "enabled" means true.
_POPULATE_ELEMENT = GoStruct(
    "",
    'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }',
    PROXY_STRUCT.fields,
)
_POPULATE_TYPE = "[]" + _POPULATE_ELEMENT.go_type


@dataclass
class ProxyInput:
    """A proxy as a request describes it (``enabled`` defaults to True)."""

    name: str = ""
    listen: str = ""
    upstream: str = ""
    enabled: bool = True


def _input(fields: dict[str, object]) -> ProxyInput:
    fields = {key: value for key, value in fields.items() if key != "Logger"}
    return ProxyInput(**fields)  # type: ignore[arg-type]


async def _resolved(listen: str) -> str:
    """``listen`` as Go's ``ResolveTCPAddr`` prints it, for the "differs" comparison."""
    try:
        return str(await resolve(listen))
    except AddressError as exc:
        raise errors.internal(str(exc)) from None


class ProxyCollection:
    """The proxies of one server."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.proxies: dict[str, Proxy] = {}
        # Serialises changes that await (binding, resolving) so they never interleave.
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        """The proxy named ``name``; :class:`~chaos.toxiproxy.errors.ProxyNotFound` if absent."""
        proxy = self.proxies.get(name)
        if proxy is None:
            raise errors.ProxyNotFound()
        return proxy

    def index_json(self) -> str:
        """``GET /proxies``: an object keyed by name, names in byte order (Go sorts map keys)."""
        names = sorted(self.proxies, key=lambda name: name.encode("utf-8"))
        return join_object((name, self.proxies[name].to_json()) for name in names)

    # --- single proxies -------------------------------------------------------------------------

    async def create_json(self, body: bytes) -> Proxy:
        """``POST /proxies``: decode, check name and upstream, refuse duplicates, bind if enabled.

        Raises:
            ApiError: 400 bad body or missing field; 409 duplicate; 500 bind failure (the proxy is
                then not added).
        """
        fields, error = decode_struct(errors.scan_body(body), PROXY_STRUCT)
        if error:
            raise errors.bad_request_body(error)
        wanted = _input(fields)
        if not wanted.name:
            raise errors.missing_field("name")
        if not wanted.upstream:
            raise errors.missing_field("upstream")
        async with self.lock:
            if wanted.name in self.proxies:
                raise errors.ProxyAlreadyExists()
            proxy = Proxy(wanted.name, wanted.listen, wanted.upstream, self.rng)
            if wanted.enabled:
                await proxy.start()
            self.proxies[wanted.name] = proxy
            return proxy

    async def update_json(self, name: str, body: bytes) -> Proxy:
        """``POST|PATCH /proxies/{name}``: change listen, upstream or enabled.

        A different listen (after resolving) or upstream restarts the proxy, closing its
        connections; only ``enabled`` changing starts or stops it; the same values do nothing.

        Raises:
            ApiError: 404 no such proxy; 400 bad body; 500 resolve or bind failure (the proxy is
                then left disabled with the new values).
        """
        proxy = self.get(name)
        value = errors.scan_body(body)
        async with self.lock:
            if self.proxies.get(name) is not proxy:
                raise errors.ProxyNotFound()  # deleted or replaced while we waited
            fields, error = decode_struct(value, PROXY_STRUCT)
            if error:
                raise errors.bad_request_body(error)
            listen = fields.get("listen", proxy.listen)
            upstream = fields.get("upstream", proxy.upstream)
            enabled = fields.get("enabled", proxy.enabled)
            if await _resolved(listen) != proxy.listen or upstream != proxy.upstream:
                proxy.stop()
                proxy.listen, proxy.upstream = listen, upstream
            if enabled:
                await proxy.start()
            else:
                proxy.stop()
            return proxy

    async def remove(self, name: str) -> None:
        """``DELETE /proxies/{name}``: stop it (closing its connections) and forget it.

        Waits for a change in progress (an update binding the proxy), so a deleted proxy is never
        left listening.

        Raises:
            ApiError: 404 no such proxy.
        """
        self.get(name)
        async with self.lock:
            self.get(name).stop()
            del self.proxies[name]

    # --- several proxies --------------------------------------------------------------------

    async def populate_json(self, body: bytes) -> tuple[list[Proxy], errors.ApiError | None]:
        """``POST /populate``: create or replace each proxy of a JSON array, in order.

        Every entry is checked first (name, then upstream); then each is created when new, kept
        untouched (toxics and enabled state included) when listen and upstream are the same, or
        stopped and replaced by a fresh proxy when they differ. The first failure stops the rest;
        what was done stays done. Proxies absent from the body are never deleted.

        Returns:
            The proxies created or kept so far, and the error that stopped it (or ``None``).
        """
        try:
            entries, error = decode_struct_list(
                errors.scan_body(body), _POPULATE_ELEMENT, _POPULATE_TYPE
            )
        except errors.ApiError as exc:
            return [], exc
        if error:
            return [], errors.bad_request_body(error)
        wanted = [_input(entry) for entry in entries]
        for number, entry in enumerate(wanted, start=1):
            if not entry.name:
                return [], errors.missing_field(f"name at proxy {number}")
            if not entry.upstream:
                return [], errors.missing_field(f"upstream at proxy {number}")
        done: list[Proxy] = []
        async with self.lock:
            for entry in wanted:
                try:
                    done.append(await self.add_or_replace(entry))
                except errors.ApiError as exc:
                    return done, exc
        return done, None

    async def add_or_replace(self, entry: ProxyInput) -> Proxy:
        """Create ``entry``, keep the existing proxy if it is the same, or replace it.

        Raises:
            ApiError: 500 resolve or bind failure (a replaced proxy is left stopped).
        """
        existing = self.proxies.get(entry.name)
        if existing is not None:
            same_listen = await _resolved(entry.listen) == existing.listen
            if same_listen and entry.upstream == existing.upstream:
                return existing
            existing.stop()
        proxy = Proxy(entry.name, entry.listen, entry.upstream, self.rng)
        if entry.enabled:
            await proxy.start()
        self.proxies[entry.name] = proxy
        return proxy

    async def reset(self) -> None:
        """``POST /reset``: start every disabled proxy and remove every toxic.

        Live connections stay open, except those a ``timeout`` toxic's removal closes.

        Raises:
            ApiError: 500 when a proxy cannot bind (the proxies after it are left as they were).
        """
        for proxy in list(self.proxies.values()):
            async with self.lock:
                if self.proxies.get(proxy.name) is not proxy:
                    continue  # deleted or replaced meanwhile
                await proxy.start()
            await proxy.toxics.reset()

    def stop_all(self) -> None:
        """Stop every proxy (server shutdown); idempotent."""
        for proxy in self.proxies.values():
            proxy.stop()
