"""The reusable core of the pytest plugin (:mod:`chaos.pytest_plugin`), usable without pytest.

The emulators, Toxiproxy proxies, clients, background chaos and scenario runs the ``wschaos_*``
fixtures give, each usable from any event loop or none (:class:`LoopThread`). Also
:mod:`chaos.testing.naive`, the seed's naive client (no heartbeat, no reconnect, no fallback): run
the suite with ``--client chaos.testing.naive:naive_client`` to see it fail.
"""

from chaos.testing.background import Background
from chaos.testing.clients import Clients
from chaos.testing.emulators import Emulator, EmulatorPool
from chaos.testing.loop_thread import LoopThread
from chaos.testing.naive import NaiveClient, naive_client
from chaos.testing.proxies import Proxies
from chaos.testing.scenarios import ScenarioFailed, ScenarioRunner

__all__ = [
    "Background",
    "Clients",
    "Emulator",
    "EmulatorPool",
    "LoopThread",
    "NaiveClient",
    "Proxies",
    "ScenarioFailed",
    "ScenarioRunner",
    "naive_client",
]
