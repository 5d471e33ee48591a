"""``drop_replies {route?}``: replies on a route never reach the client.

Replies are a two-way route's response, its error frames, and what its handler posts through
``context.post_to_connection`` while handling the message. None = every route.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, matches, register, route_param


@register
@dataclass(frozen=True)
class DropReplies(Fault):
    """Drop replies on ``route`` (None: every route)."""

    wire_name = "drop_replies"

    route: str | None = None

    def __post_init__(self) -> None:
        route_param(self.wire_name, self.route)

    def drops_reply(self, route: str | None) -> bool:
        return matches(route, self.route)
