"""Toxics, one module each, registered under their wire names in :data:`REGISTRY`.

==============  ==========================================  ====================================
wire name       attributes (units)                          effect
==============  ==========================================  ====================================
``latency``     ``latency`` ms, ``jitter`` ms               delay each chunk
``bandwidth``   ``rate`` KB/s (1 KB = 1000 B)               limit throughput; 0 stalls
``slow_close``  ``delay`` ms                                delay the close
``timeout``     ``timeout`` ms                              drop data; close when idle
``reset_peer``  ``timeout`` ms                              drop, wait, close (RST if present at
                                                            connect)
``slicer``      ``average_size`` B, ``size_variation`` B,   cut chunks into small writes
                ``delay`` µs
``limit_data``  ``bytes`` B                                 forward that much, then close
``noop``                                                    pass through
==============  ==========================================  ====================================
"""

from chaos.toxiproxy.toxics import (  # noqa: F401  (imported to register each toxic)
    bandwidth,
    latency,
    limit_data,
    noop,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)
from chaos.toxiproxy.toxics.base import (
    REGISTRY,
    AbortiveToxic,
    CleanupToxic,
    StatefulToxic,
    Toxic,
    register,
)

__all__ = ["REGISTRY", "AbortiveToxic", "CleanupToxic", "StatefulToxic", "Toxic", "register"]
