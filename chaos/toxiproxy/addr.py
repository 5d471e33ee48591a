"""Listen and upstream addresses as Go's ``net`` package reads, resolves, binds and prints them.

Toxiproxy stores whatever string a client sends, then replaces ``listen`` with the listener's real
address once bound (``localhost:0`` becomes ``127.0.0.1:41234``; a wildcard becomes ``[::]:p``, a
dual-stack socket). Its error texts are Go's (``listen tcp: address local373: missing port in
address``, ``listen tcp 127.0.0.1:3310: bind: address already in use``); clients see them in 500
answers, so they are reproduced here.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
from dataclasses import dataclass

from chaos.errors import ChaosError

__all__ = [
    "AddressError",
    "ResolvedAddress",
    "bind_listener",
    "dial_host",
    "format_host_port",
    "parse_port",
    "resolve",
    "split_host_port",
]


class AddressError(ChaosError):
    """An address Go's resolver rejects; ``str(exc)`` is Go's text (without the ``listen tcp:``
    prefix, which :func:`bind_listener` adds)."""


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``"[::1]:80"`` -> ``("::1", "80")``.

    Raises:
        AddressError: ``address X: missing port in address`` and Go's other messages.
    """

    def fail(why: str) -> AddressError:
        return AddressError(f"address {hostport}: {why}")

    last = hostport.rfind(":")
    if last < 0:
        raise fail("missing port in address")
    start, end_index = 0, 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(hostport):
            raise fail("missing port in address")
        if end + 1 != last:
            if hostport[end + 1] == ":":
                raise fail("too many colons in address")
            raise fail("missing port in address")
        host = hostport[1:end]
        start, end_index = 1, end + 1
    else:
        host = hostport[:last]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in hostport[start:]:
        raise fail("unexpected '[' in address")
    if "]" in hostport[end_index:]:
        raise fail("unexpected ']' in address")
    return host, hostport[last + 1 :]


def format_host_port(host: str, port: int) -> str:
    """Go's ``JoinHostPort``: IPv6 hosts in brackets, an empty host stays empty (``:8474``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_port(service: str) -> int:
    """Go's ``LookupPort`` for ``tcp``: empty is 0, digits with an optional sign, else a service
    name from the services database."""
    if service == "":
        return 0
    digits = service[1:] if service[0] in "+-" else service
    if digits.isdigit() and digits.isascii():
        port = -int(digits) if service[0] == "-" else int(digits)
        if not 0 <= port <= 0xFFFF:
            raise AddressError(f"address {service}: invalid port")
        return port
    try:
        return socket.getservbyname(service, "tcp")
    except (OSError, ValueError):  # ValueError: a NUL in the name
        raise AddressError(f"lookup tcp/{service}: unknown port") from None


@dataclass(frozen=True)
class ResolvedAddress:
    """A TCP address after resolution.

    Attributes:
        ip: the IP literal, or ``None`` for the wildcard (all interfaces).
        port: the port (0 = any free port).
    """

    ip: str | None
    port: int

    @property
    def wildcard(self) -> bool:
        """True when it listens on every interface (no IP, ``0.0.0.0`` or ``::``)."""
        return self.ip is None or ipaddress.ip_address(self.ip).is_unspecified

    def __str__(self) -> str:
        """Go's ``TCPAddr.String()``: ``127.0.0.1:80``, ``[::1]:80``, ``:80`` for no IP."""
        return format_host_port(self.ip or "", self.port)


async def resolve(hostport: str) -> ResolvedAddress:
    """Go's ``net.ResolveTCPAddr("tcp", hostport)``; IPv4 preferred for names (``localhost``).

    An empty string is the wildcard on port 0, as ``net.Listen("tcp", "")`` treats it.

    Raises:
        AddressError: Go's message for a malformed address, bad port or unknown host.
    """
    if hostport == "":
        return ResolvedAddress(None, 0)
    host, service = split_host_port(hostport)
    port = parse_port(service)
    if host == "":
        return ResolvedAddress(None, port)
    try:
        return ResolvedAddress(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    if host.lower() == "localhost":
        return ResolvedAddress("127.0.0.1", port)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        # UnicodeError: IDNA refuses the name (a label over 63 bytes); ValueError: a NUL in it.
        raise AddressError(f"lookup {host}: no such host") from None
    ips = [info[4][0] for info in infos]
    ipv4 = [ip for ip in ips if ":" not in ip]
    return ResolvedAddress((ipv4 or ips)[0], port)


def _strerror(exc: OSError) -> str:
    """An errno as Go prints it: ``address already in use`` (lower-case first letter)."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


class _NoIPv6(Exception):
    """The host cannot open an IPv6 socket (IPv6 compiled out or disabled)."""


def bind_listener(address: ResolvedAddress) -> tuple[socket.socket, str]:
    """Open a listening socket like Go's ``net.Listen("tcp", ...)``.

    SO_REUSEADDR is set (a freed port is re-bindable at once); a wildcard opens a dual-stack IPv6
    socket, or an IPv4 one where the host has no IPv6, as Go does.

    Returns:
        The non-blocking listening socket and the address Go reports for it: ``127.0.0.1:41234``,
        ``[::]:41234`` for a dual-stack wildcard (``0.0.0.0:41234`` without IPv6).

    Raises:
        AddressError: ``listen tcp 127.0.0.1:3310: bind: address already in use`` and the like.
    """
    if address.wildcard:
        try:
            return _bind(socket.AF_INET6, "::", address)
        except _NoIPv6:
            return _bind(socket.AF_INET, "0.0.0.0", address)
    assert address.ip is not None
    family = socket.AF_INET6 if ":" in address.ip else socket.AF_INET
    return _bind(family, address.ip, address)


def _bind(
    family: socket.AddressFamily, host: str, address: ResolvedAddress
) -> tuple[socket.socket, str]:
    dual_stack = family == socket.AF_INET6 and address.wildcard
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        if dual_stack:
            raise _NoIPv6 from exc
        raise AddressError(f"listen tcp {address}: socket: {_strerror(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, address.port))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if dual_stack and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise _NoIPv6 from exc
        raise AddressError(f"listen tcp {address}: bind: {_strerror(exc)}") from None
    port = sock.getsockname()[1]
    return sock, format_host_port(host, port)


def dial_host(host: str) -> str:
    """The host to connect to for an upstream host: Go dials the local system for an empty or
    unspecified host."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host
