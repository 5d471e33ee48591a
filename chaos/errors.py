"""Exceptions of the ``chaos`` package.

Tree::

    ChaosError
    ├── UserError            bad input: config, scenario file, option, gate (CLI exit 2)
    │   └── ScenarioError    a scenario file that does not validate
    └── ToxiproxyError       the Toxiproxy HTTP API answered with an error
"""

from __future__ import annotations

__all__ = ["ChaosError", "ScenarioError", "ToxiproxyError", "UserError"]


class ChaosError(Exception):
    """Root of every exception raised by ``chaos``."""


class UserError(ChaosError):
    """Bad input from the user; the message is one line naming the file, field and value."""


class ScenarioError(UserError):
    """A scenario file that does not validate."""


class ToxiproxyError(ChaosError):
    """The Toxiproxy HTTP API answered ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"toxiproxy answered {status}: {message}")
        self.status = status
        self.message = message
