"""The built-in scenario suite: one YAML file per scenario, shipped inside the package.

:func:`suite_path` finds the files through :mod:`importlib.resources`, so an installed (non
editable) ``wschaos`` runs the same suite as a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["suite_files", "suite_path"]


def suite_path() -> Path:
    """The directory holding the built-in scenario files."""
    return Path(str(files(__name__)))


def suite_files() -> list[Path]:
    """The built-in scenario files, sorted by name."""
    return sorted(suite_path().glob("*.yaml"))
