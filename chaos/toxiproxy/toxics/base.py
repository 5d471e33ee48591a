"""What every toxic is, the registry of toxics by wire name, and the optional abilities.

A toxic is a small dataclass holding only its wire attributes (ints, in Toxiproxy's units) with an
async ``pipe(stub)`` that moves chunks from ``stub.recv()`` to ``stub.send()``. It registers itself
under its wire name with :func:`register`, which also derives the Go struct schema used to decode
its attributes strictly. Toxicity is not the toxic's business: the stub applies it.

Optional abilities are separate protocols, checked once per connection or removal:
:class:`StatefulToxic` (per-connection state that survives updates), :class:`CleanupToxic` (runs
when removed from a live connection) and :class:`AbortiveToxic` (present when a connection opens,
its sockets close with RST).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from chaos.toxiproxy.gojson import GoField, GoStruct, join_object

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = [
    "REGISTRY",
    "AbortiveToxic",
    "CleanupToxic",
    "StatefulToxic",
    "Toxic",
    "attribute",
    "register",
]


def attribute(go_type: str = "int64", *, unit: str = "") -> Any:
    """A wire attribute (default 0, Go's zero value).

    Args:
        go_type: the Go field type, for strict decoding and Go's error text (``int64`` or ``int``).
        unit: the unit on the wire (``ms``, ``µs``, ``KB/s``, ``bytes``), for documentation.
    """
    return dataclasses.field(default=0, metadata={"go_type": go_type, "unit": unit})


class Toxic:
    """Base of every toxic: wire attributes as dataclass fields, and :meth:`pipe`."""

    #: The type's name on the wire (``latency``); set by :func:`register`.
    wire_name: ClassVar[str]
    #: The Go struct its attributes decode into; set by :func:`register`.
    go_struct: ClassVar[GoStruct]

    async def pipe(self, stub: ToxicStub) -> None:
        """Move chunks from ``stub.recv()`` to ``stub.send()`` until the end of the stream (then
        ``stub.close()``) or an interruption (then forward anything held)."""
        raise NotImplementedError

    def validate(self) -> str | None:
        """A problem with the attributes that would crash Toxiproxy, as ``attributes.NAME: VALUE:
        problem``, or ``None`` when they are usable."""
        return None

    def attributes(self) -> dict[str, int]:
        """The wire attributes, in Toxiproxy's order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def attributes_json(self) -> str:
        """The attributes object as Toxiproxy encodes it (every attribute, fixed order)."""
        return join_object((name, str(value)) for name, value in self.attributes().items())

    def updated(self, changes: dict[str, int]) -> Toxic:
        """A copy with ``changes`` merged in (unspecified attributes keep their values)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


REGISTRY: dict[str, type[Toxic]] = {}

T = TypeVar("T", bound=type[Toxic])


def register(wire_name: str, go_name: str) -> Callable[[T], T]:
    """Class decorator: register a toxic dataclass under ``wire_name``.

    Args:
        wire_name: the ``type`` clients send (``latency``).
        go_name: Toxiproxy's Go type name (``LatencyToxic``), which appears in decoding errors.
    """

    def decorate(cls: T) -> T:
        cls.wire_name = wire_name
        cls.go_struct = GoStruct(
            go_name,
            f"toxics.{go_name}",
            tuple(
                GoField(f.name, f.metadata.get("go_type", "int64"))
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            ),
        )
        REGISTRY[wire_name] = cls
        return cls

    return decorate


@runtime_checkable
class StatefulToxic(Protocol):
    """A toxic with per-connection state, created when its stage is first built on a link."""

    def new_state(self) -> object:
        """Fresh state for one connection and direction."""
        ...


@runtime_checkable
class CleanupToxic(Protocol):
    """A toxic that acts when removed from a live link (``timeout`` closes the connection)."""

    def cleanup(self, stub: ToxicStub) -> None:
        """Called on the interrupted stub before it is unlinked; may close it."""
        ...


@runtime_checkable
class AbortiveToxic(Protocol):
    """A toxic whose presence when a connection opens makes both sockets close with RST
    (``SO_LINGER`` 0), as ``reset_peer`` does."""

    def resets_connection(self) -> bool:
        """True: set ``SO_LINGER(1, 0)`` on both sockets of new connections."""
        ...
