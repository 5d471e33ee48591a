"""``delay_replies {route?, delay}``: replies on a route are held for ``delay`` (scaled) first.

Replies are as for ``drop_replies``. The integration itself runs at once, so a delay never turns
into "Endpoint request timed out".
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, delay_param, matches, register, route_param


@register
@dataclass(frozen=True)
class DelayReplies(Fault):
    """Hold replies on ``route`` (None: every route) for ``delay`` configured seconds."""

    wire_name = "delay_replies"

    delay: float  # seconds, configured (unscaled); wire: a duration such as "2s"
    route: str | None = None

    def __post_init__(self) -> None:
        route_param(self.wire_name, self.route)
        object.__setattr__(self, "delay", delay_param(self.wire_name, self.delay))

    def reply_delay(self, route: str | None) -> float:
        return self.delay if matches(route, self.route) else 0.0
