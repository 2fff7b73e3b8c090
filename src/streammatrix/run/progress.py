"""The run's progress as lines of text: the console's observer of :mod:`.events`."""

from __future__ import annotations

from collections.abc import Callable

from streammatrix.plugin import outcomes as o
from streammatrix.run.cell import CellResult
from streammatrix.run.events import (
    BisectStepped,
    CellEnded,
    CellStarted,
    EnvReady,
    Event,
    Message,
    ProviderReady,
    ReportWritten,
    RunPlanned,
    ServerStarted,
)

_ORDER = (o.PASS, o.FAIL, o.ERROR, o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT, o.SKIPPED)


def _outcome_order(item: tuple[str, int]) -> int:
    return _ORDER.index(item[0]) if item[0] in _ORDER else len(_ORDER)


def cell_line(index: int, total: int, result: CellResult) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items(), key=_outcome_order))
    head = f"[{index}/{total}] {result.status:<8} {result.cell.id}"
    if result.status == o.CELL_OK:
        return f"{head}  {counts}  {result.seconds:.1f}s"
    return f"{head}  {result.reason.splitlines()[0] if result.reason else ''}"


def line(event: Event) -> str | None:
    """The console line for ``event``; None for events the console does not show."""
    if isinstance(event, Message):
        return event.text
    if isinstance(event, RunPlanned):
        return f"{event.cells} cells, {event.workers} workers, provider {event.provider}"
    if isinstance(event, ProviderReady) and event.kind == "auto":
        return "servers from Docker where an image can be had, else from their binaries"
    if isinstance(event, ProviderReady):
        return f"{event.kind} servers"
    if isinstance(event, EnvReady):
        head = f"environment {event.client} py{event.python}"
        head += f" ({event.parser} parser)" if event.parser else ""
        if event.error:  # the first line names the failure and its reason; the rest is detail
            return f"{head}: {event.error.strip().splitlines()[0]}"
        how = "reused" if event.reused else f"created in {event.seconds:.1f}s"
        beside = f" + {event.parser_version}" if event.parser_version else ""
        return f"{head}: {event.package} {event.version}{beside} ({how})"
    if isinstance(event, ServerStarted):
        what = f"{event.name} ({event.topology})" if event.topology else event.name
        return (
            f"server {what} ready at {event.url} ({event.family} {event.version}, "
            f"{event.provider}, {event.seconds:.2f}s)"
        )
    if isinstance(event, CellStarted):
        return f"[{event.index}/{event.total}] start {event.cell_id}"
    if isinstance(event, CellEnded):
        return cell_line(event.index, event.total, event.result)
    if isinstance(event, BisectStepped):
        return f"bisect step {event.step}: {event.cells} cells in {event.seconds:.1f}s"
    if isinstance(event, ReportWritten):
        return f"report written to {event.directory} in {event.seconds:.1f}s"
    return None


def printer(say: Callable[[str], None]) -> Callable[[Event], None]:
    """An observer that prints each event's line with ``say``."""

    def observe(event: Event) -> None:
        text = line(event)
        if text is not None:
            say(text)

    return observe
