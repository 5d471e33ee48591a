"""Helpers shared by the deployment tests: reading the services' command lines."""

from __future__ import annotations

__all__ = ["option"]


def option(command: list[str], name: str) -> str | None:
    """The value of ``--name VALUE``, ``--name=VALUE`` or Go-style ``-name=VALUE``."""
    for index, arg in enumerate(command):
        if arg == name and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None
