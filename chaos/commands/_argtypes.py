"""Option value types shared by the ``wschaos`` subcommands, so a bad value reads the same in each.

Each is an argparse ``type=``: it returns the converted value or raises
:class:`argparse.ArgumentTypeError`, which argparse reports as a usage error (exit 2):
``wschaos run: error: argument --time-scale: '0': must be a positive number``.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["non_negative_int", "port", "positive_float"]


def positive_float(text: str) -> float:
    """A finite number above 0 (a time scale N)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
    if not 0 < value < math.inf:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number")
    return value


def non_negative_int(text: str) -> int:
    """An integer of 0 or more (a repeat count, 0 = until stopped)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 or more")
    return value


def port(text: str) -> int:
    """A TCP port, 0-65535 (0 = a free port where the command binds one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0-65535")
    return value
