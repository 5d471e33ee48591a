"""An embedded Toxiproxy-compatible server: the same HTTP API and toxic semantics as Toxiproxy
2.12.0, in Python, so scenarios run where the Go binary cannot be installed.

Layout (one noun per module, as Toxiproxy's Go sources)::

    api.py               HTTP routes, middleware quirks, response encoding (aiohttp)
    proxy_collection.py  the proxies: create, update, delete, populate, reset
    proxy.py             one proxy: listener, connections
    toxic_collection.py  one proxy's toxic chains, applied to live links
    link.py              one direction of one connection: source -> stages -> destination
    stub.py              one toxic stage on one link (toxicity, interruption)
    stream.py            chunks, directions, queues
    toxics/              one module per toxic, registered by wire name
    gojson.py, addr.py   Go's JSON and address behaviour; errors.py the API errors
    server.py            running it: on this loop, or embedded on its own thread
"""

from chaos.toxiproxy.api import VERSION, create_app
from chaos.toxiproxy.errors import ApiError
from chaos.toxiproxy.server import EmbeddedToxiproxy, ToxiproxyServer

__all__ = ["VERSION", "ApiError", "EmbeddedToxiproxy", "ToxiproxyServer", "create_app"]
