"""Raising what was collected in the background: one failure as itself, several as a group."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["raise_collected"]


def raise_collected(errors: Sequence[BaseException], what: str) -> None:
    """Raise ``errors``: nothing when empty, the failure itself when alone (so the test report
    shows its own type and message), else a :class:`BaseExceptionGroup` (an
    :class:`ExceptionGroup` when every one is an :class:`Exception`) titled
    ``"<count> <what>"``, e.g. ``"2 handler failures in the emulator"``.
    """
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BaseExceptionGroup(f"{len(errors)} {what}", list(errors))
