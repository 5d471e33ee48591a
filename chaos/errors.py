"""Exceptions of the ``chaos`` package.

Tree (classes defined elsewhere are named with their module)::

    ChaosError
    ├── UserError                   bad input: config, scenario file, option, gate (CLI exit 2)
    │   └── ScenarioError           a scenario file that does not validate
    ├── ToxiproxyError              the Toxiproxy HTTP API answered with an error (status 0:
    │                               unreachable), as :mod:`chaos.proxies` calls it
    ├── control.ControlError        the emulator's control API answered with an error
    ├── runner.StepFailed           a scenario step's expectation was not met (ends that run)
    ├── testing.ScenarioFailed      a scenario run from a test did not pass (also an
    │                               AssertionError, so pytest reports it as a failed assertion)
    ├── toxiproxy.ApiError          the embedded server's API errors, one class per Toxiproxy
    │                               sentinel (tree in :mod:`chaos.toxiproxy.errors`)
    ├── toxiproxy.gojson.GoJSONError    a body Go's JSON decoder rejects (becomes an ApiError)
    └── toxiproxy.addr.AddressError     an address Go's resolver rejects (becomes an ApiError)

Not errors, and so outside the tree: ``chaos.toxiproxy.stub.Interrupted`` tells a toxic that the
API interrupted its stage.
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
