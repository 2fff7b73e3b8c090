"""What a run tells its observers, as it happens: one dataclass per event.

The run loop emits; observers subscribe. The console (:mod:`.progress`) and the benchmark
(:mod:`streammatrix.bench.runs`) are two observers; neither reaches into the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Union


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class Message:
    """A line for the user that fits no other event (a fallback, a restart, a warning)."""

    text: str


@dataclass(frozen=True)
class RunPlanned:
    cells: int
    workers: int
    provider: str  # the provider the run asked for: auto, docker or binary


@dataclass(frozen=True)
class ProviderReady:
    kind: str
    seconds: float


@dataclass(frozen=True)
class EnvReady:
    client: str
    python: str
    seconds: float
    reused: bool = False
    package: str = ""
    version: str = ""
    error: str = ""  # why the environment could not be made
    parser: str = ""  # the parser it is made for ("" when the row names none)
    parser_version: str = ""  # e.g. "hiredis 3.1.0"


@dataclass(frozen=True)
class EnvsReady:
    seconds: float


@dataclass(frozen=True)
class ServerStarted:
    name: str
    url: str
    family: str
    version: str
    provider: str  # the provider that really started it: docker or binary
    seconds: float
    topology: str = ""  # "cluster": the seconds are the whole cluster's, start to ready


@dataclass(frozen=True)
class CellStarted:
    cell_id: str
    index: int
    total: int
    # what the cell's worker waited for since its turn came (``turn``, monotonic), seconds:
    # its client environment, its server, its fork server's warm-up
    turn: float | None = None
    waited_env: float = 0.0
    waited_server: float = 0.0
    waited_fork: float = 0.0
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class CellEnded:
    result: Any  # run.cell.CellResult
    index: int
    total: int
    started: float | None  # None: the cell never started (excluded, skipped, no server)
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class BisectStepped:
    """One bisection step ended: its cells, and its wall time (environments, servers, cells)."""

    step: int
    cells: int
    seconds: float


@dataclass(frozen=True)
class ReportWritten:
    directory: str
    seconds: float


Event = Union[
    Message, RunPlanned, ProviderReady, EnvReady, EnvsReady, ServerStarted, CellStarted,
    CellEnded, BisectStepped, ReportWritten,
]  # fmt: skip
Observer = Callable[[Event], None]


class Events:
    """Hands every event to every observer, one event at a time (workers emit concurrently)."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self.observers = list(observers)
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            for observer in self.observers:
                observer(event)

    def say(self, text: str) -> None:
        """Emit a :class:`Message`; handy as a ``notify`` callback."""
        self.emit(Message(text))
