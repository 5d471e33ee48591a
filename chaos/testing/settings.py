"""The test harness's settings: what each environment variable means, read and checked.

Each ``*_from_env`` function reads one variable (from ``environ``, default ``os.environ``) and
returns its value, or the default when it is unset or blank; a bad value raises
:class:`chaos.errors.UserError` whose one-line message starts with the variable's name, so a test
harness can report it without a traceback. The real-time bounds of the harness's own waits live
here too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from chaos.errors import UserError

if TYPE_CHECKING:
    from chaos.adapter import ClientFactory
    from emulator import ApiConfig

__all__ = [
    "CLOSE_TIMEOUT",
    "CONTROL_TIMEOUT",
    "ENDPOINT_ENV",
    "ENV_API_CONFIG",
    "ENV_CLIENT",
    "ENV_TIME_SCALE",
    "ENV_UPSTREAM_HOST",
    "api_config_from_env",
    "client_adapter_from_env",
    "time_scale_from_env",
    "toxiproxy_url_from_env",
    "upstream_host_from_env",
]

#: A YAML API config for the emulator (design §5); unset = the built-in sample API.
ENV_API_CONFIG = "WSCHAOS_API_CONFIG"
#: The time scale N of the emulator and the clients (design §3); unset = 1 (AWS's own timings).
ENV_TIME_SCALE = "WSCHAOS_TIME_SCALE"
#: How a Toxiproxy at TOXIPROXY_URL reaches the emulator; unset = the emulator's own address.
ENV_UPSTREAM_HOST = "WSCHAOS_UPSTREAM_HOST"
#: The client adapter factory scenarios drive, ``module:factory``; unset = the resilient client.
ENV_CLIENT = "WSCHAOS_CLIENT"
#: Where boto3's ``apigatewaymanagementapi`` client sends @connections calls (the emulator sets
#: it when it starts; the harness points it at the emulator a test uses).
ENDPOINT_ENV = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"

#: Real seconds any single control call (Toxiproxy, emulator) may take.
CONTROL_TIMEOUT = 30.0
#: Real seconds closing a client, cancelling background tasks or letting the emulator's handlers
#: finish may take at a test's teardown.
CLOSE_TIMEOUT = 10.0


def _read(name: str, environ: Mapping[str, str] | None) -> str:
    return (os.environ if environ is None else environ).get(name, "").strip()


def time_scale_from_env(environ: Mapping[str, str] | None = None, default: float = 1.0) -> float:
    """N from ``WSCHAOS_TIME_SCALE``, else ``default``.

    Raises:
        UserError: not a number, or not a finite number above 0.
    """
    text = _read(ENV_TIME_SCALE, environ)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise UserError(f"{ENV_TIME_SCALE}: {text!r}: not a number")
    if not 0 < value < math.inf:
        raise UserError(f"{ENV_TIME_SCALE}: {text!r}: must be a positive number")
    return value


def api_config_from_env(environ: Mapping[str, str] | None = None) -> ApiConfig | None:
    """The API config loaded from the YAML file ``WSCHAOS_API_CONFIG`` names, else None (the
    built-in sample API).

    Raises:
        UserError: the file cannot be read or does not validate (the message names the key).
    """
    path = _read(ENV_API_CONFIG, environ)
    if not path:
        return None
    from emulator import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise UserError(f"{ENV_API_CONFIG}: {exc}") from exc


def upstream_host_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``WSCHAOS_UPSTREAM_HOST`` (how Toxiproxy reaches the emulator), else None (the
    emulator's own address)."""
    return _read(ENV_UPSTREAM_HOST, environ) or None


def client_adapter_from_env(environ: Mapping[str, str] | None = None) -> ClientFactory:
    """The adapter factory ``WSCHAOS_CLIENT`` names (``module:factory``), else the resilient
    client's (:data:`chaos.adapter.DEFAULT_CLIENT`).

    Raises:
        UserError: malformed, not importable, or not a callable.
    """
    from chaos.adapter import DEFAULT_CLIENT, load_factory

    spec = _read(ENV_CLIENT, environ) or DEFAULT_CLIENT
    try:
        return load_factory(spec)
    except UserError as exc:
        raise UserError(f"{ENV_CLIENT}: {exc}") from exc


def toxiproxy_url_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """A running Toxiproxy's API from ``TOXIPROXY_URL`` (``http://`` added when missing, no
    trailing slash), else None (start an embedded one)."""
    from chaos.proxies import url_from_env

    url = url_from_env(environ)
    return None if url is None else url.rstrip("/")
