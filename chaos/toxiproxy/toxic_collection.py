"""A proxy's toxics: one chain per direction, applied to every live link (``toxic_collection.go``).

Parsing follows Toxiproxy's check order for a new toxic: body decode -> stream -> default name ->
type -> name unique across both streams -> attributes decoded strictly into the toxic's struct ->
attributes we refuse because they would crash Toxiproxy. Updates merge attributes into a copy and
keep ``toxicity`` unless given. Every change mutates the chain first and then the live links, all
under the collection's lock, so a connection opening meanwhile starts with the new chain.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from chaos.toxiproxy import errors
from chaos.toxiproxy.gojson import (
    GoField,
    GoStruct,
    decode_struct,
    format_float32,
    join_object,
    quote,
)
from chaos.toxiproxy.link import Endpoint, ToxicLink
from chaos.toxiproxy.stream import Direction
from chaos.toxiproxy.toxics import REGISTRY, Toxic

__all__ = ["ToxicCollection", "ToxicWrapper"]

# Toxiproxy first decodes a new toxic into a ToxicWrapper whose attributes are a NoopToxic
# placeholder, then the attributes again into the real type.
_WRAPPER = GoStruct(
    "ToxicWrapper",
    "toxics.ToxicWrapper",
    (
        GoField("attributes", "toxics.NoopToxic"),
        GoField("name", "string"),
        GoField("type", "string"),
        GoField("stream", "string"),
        GoField("toxicity", "float32"),
    ),
)
_ATTRIBUTES_TYPE = 'struct { Attributes interface {} "json:\\"attributes\\"" }'
_UPDATE_TYPE = (
    'struct { Attributes interface {} "json:\\"attributes\\""; '
    'Toxicity float32 "json:\\"toxicity\\"" }'
)


class ToxicWrapper:
    """A toxic as the API knows it: name, type, stream as sent, toxicity and attributes.

    Attributes:
        toxicity: probability in ``[0, 1]`` (stored as float32; not range-checked, like Toxiproxy).
        toxic: the attributes and behaviour; replaced (not mutated) by updates.
    """

    __slots__ = ("direction", "name", "stream", "toxic", "toxicity", "type")

    def __init__(
        self, name: str, type: str, stream: str, direction: Direction, toxicity: float, toxic: Toxic
    ) -> None:
        self.name = name
        self.type = type
        self.stream = stream
        self.direction = direction
        self.toxicity = toxicity
        self.toxic = toxic

    def to_json(self) -> str:
        """The toxic object in Toxiproxy's key order."""
        return join_object(
            [
                ("attributes", self.toxic.attributes_json()),
                ("name", quote(self.name)),
                ("type", quote(self.type)),
                ("stream", quote(self.stream)),
                ("toxicity", format_float32(self.toxicity)),
            ]
        )


class ToxicCollection:
    """The toxics of one proxy and the live links they apply to."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.chains: dict[Direction, list[ToxicWrapper]] = {d: [] for d in Direction}
        self._links: dict[ToxicLink, None] = {}  # insertion-ordered set
        self.lock = asyncio.Lock()

    # --- reading ------------------------------------------------------------------------------

    def toxics(self) -> list[ToxicWrapper]:
        """Every toxic: upstream ones first, then downstream, each in chain order."""
        return [*self.chains[Direction.UPSTREAM], *self.chains[Direction.DOWNSTREAM]]

    def find(self, name: str) -> ToxicWrapper | None:
        """The toxic named ``name`` in either stream, or ``None``."""
        for wrapper in self.toxics():
            if wrapper.name == name:
                return wrapper
        return None

    def get(self, name: str) -> ToxicWrapper:
        """The toxic named ``name``; :class:`~chaos.toxiproxy.errors.ToxicNotFound` if absent."""
        wrapper = self.find(name)
        if wrapper is None:
            raise errors.ToxicNotFound()
        return wrapper

    def to_json(self) -> str:
        """The toxics array, as ``GET /proxies/{proxy}/toxics`` answers it."""
        return "[" + ",".join(wrapper.to_json() for wrapper in self.toxics()) + "]"

    # --- API changes ----------------------------------------------------------------------------

    async def add_json(self, body: bytes) -> ToxicWrapper:
        """Create a toxic from a request body and apply it to every live link.

        Raises:
            ApiError: 400 bad body, invalid stream, invalid type or refused attributes; 409 when
                the name exists in either stream.
        """
        async with self.lock:
            value = errors.scan_body(body)
            fields, error = decode_struct(value, _WRAPPER)
            if error:
                raise errors.bad_request_body(error)
            stream = fields.get("stream", "downstream")
            direction = Direction.parse(stream)
            if direction is None:
                raise errors.InvalidStream()
            type_name = fields.get("type", "")
            name = fields.get("name", "") or f"{type_name}_{stream}"
            toxic_class = REGISTRY.get(type_name)
            if toxic_class is None:
                raise errors.InvalidToxicType()
            if self.find(name) is not None:
                raise errors.ToxicAlreadyExists()
            schema = GoStruct(
                "",
                _ATTRIBUTES_TYPE,
                (GoField("attributes", toxic_class.go_struct.go_type, toxic_class.go_struct),),
            )
            attributes, error = decode_struct(value, schema)
            if error:
                raise errors.bad_request_body(error)
            toxic = toxic_class(**attributes.get("attributes", {}))
            problem = toxic.validate()
            if problem:
                raise errors.bad_request_body(problem)
            wrapper = ToxicWrapper(
                name, type_name, stream, direction, fields.get("toxicity", 1.0), toxic
            )
            self.chains[direction].append(wrapper)
            await self._each_link(direction, lambda link: link.add_toxic(wrapper))
            return wrapper

    async def update_json(self, name: str, body: bytes) -> ToxicWrapper:
        """Merge a request body's ``attributes`` and ``toxicity`` into a toxic and restart its
        stages (``name``, ``type`` and ``stream`` in the body are ignored).

        Raises:
            ApiError: 404 no such toxic; 400 bad body or refused attributes.
        """
        async with self.lock:
            wrapper = self.get(name)
            value = errors.scan_body(body)
            go_struct = wrapper.toxic.go_struct
            schema = GoStruct(
                "",
                _UPDATE_TYPE,
                (
                    GoField("attributes", go_struct.go_type, go_struct),
                    GoField("toxicity", "float32"),
                ),
            )
            fields, error = decode_struct(value, schema)
            if error:
                raise errors.bad_request_body(error)
            updated = wrapper.toxic.updated(fields.get("attributes", {}))
            problem = updated.validate()
            if problem:
                raise errors.bad_request_body(problem)
            wrapper.toxic = updated
            wrapper.toxicity = fields.get("toxicity", wrapper.toxicity)
            await self._each_link(wrapper.direction, lambda link: link.update_toxic(wrapper))
            return wrapper

    async def remove(self, name: str) -> None:
        """Remove a toxic from its chain and every live link.

        Raises:
            ApiError: 404 no such toxic.
        """
        async with self.lock:
            await self._remove(self.get(name))

    async def reset(self) -> None:
        """Remove every toxic through the normal removal path (so ``timeout`` closes its
        connections)."""
        async with self.lock:
            for direction in Direction:
                while self.chains[direction]:
                    await self._remove(self.chains[direction][0])

    async def _remove(self, wrapper: ToxicWrapper) -> None:
        self.chains[wrapper.direction].remove(wrapper)
        await self._each_link(wrapper.direction, lambda link: link.remove_toxic(wrapper))

    async def _each_link(
        self, direction: Direction, change: Callable[[ToxicLink], Awaitable[None]]
    ) -> None:
        # Links of one direction change concurrently, as Toxiproxy's goroutines do: one stage
        # waiting out a reset_peer timer does not hold up the others.
        links = [link for link in self._links if link.direction == direction]
        await asyncio.gather(*(change(link) for link in links))

    # --- links ------------------------------------------------------------------------------------

    def start_link(
        self, direction: Direction, source: Endpoint, destination: Endpoint
    ) -> ToxicLink:
        """Create and start the link of a new connection with the current chain."""
        link = ToxicLink(self, direction, source, destination, self.rng)
        self._links[link] = None
        link.start(self.chains[direction])
        return link

    def remove_link(self, link: ToxicLink) -> None:
        """Forget a link whose stream has ended."""
        self._links.pop(link, None)
