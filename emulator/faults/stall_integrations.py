"""``stall_integrations {route?, delay}``: integrations wait ``delay`` (scaled) before running.

The stall counts against the integration timeout, so a long one gives "Endpoint request timed
out" on message routes and 504 on ``$connect``. None = every route, ``$connect`` included.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, delay_param, matches, register, route_param


@register
@dataclass(frozen=True)
class StallIntegrations(Fault):
    """Hold integrations of ``route`` (None: every route) for ``delay`` configured seconds."""

    wire_name = "stall_integrations"

    delay: float  # seconds, configured (unscaled); wire: a duration such as "30s"
    route: str | None = None

    def __post_init__(self) -> None:
        route_param(self.wire_name, self.route)
        object.__setattr__(self, "delay", delay_param(self.wire_name, self.delay))

    def stall(self, route: str | None) -> float:
        return self.delay if matches(route, self.route) else 0.0
