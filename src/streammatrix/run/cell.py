"""One cell: the suite's pytest, in the client's environment, against one running server.

The suite is told where its server is only through the environment, exactly as a user would
point it at their own Redis; the cell's coordinates travel the same way to the plugin, which
writes them into the cell's JUnit file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import streammatrix
from streammatrix import files, processes
from streammatrix.errors import OutputError
from streammatrix.junit import proof
from streammatrix.junit import write as cellfile
from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.run.envs import ClientEnv, cell_environ
from streammatrix.run.launch import Launched, Launcher, client_preload
from streammatrix.run.paths import ReportPaths
from streammatrix.run.properties import base_properties, server_properties
from streammatrix.run.reruns import rerun_failed
from streammatrix.servers.base import RunningServer

# What a cell's pytest may import from the runner: the plugin package, nothing else (its
# independence from the rest is a contract in pyproject.toml).
PLUGIN_FILES = ("__init__.py", "plugin/__init__.py", "plugin/outcomes.py", "plugin/resp.py",
                "plugin/pytest_plugin.py", "plugin/protocol.py", "plugin/classify.py",
                "plugin/properties.py", "plugin/current.py",
                "plugin/connections.py", "plugin/parser.py", "plugin/topology.py")  # fmt: skip


@dataclass
class CellResult:
    cell: Cell
    status: str  # one of outcomes.CELL_STATUSES
    seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    reason: str = ""


def plugin_path(root: Path) -> Path:
    """A directory holding only the plugin's modules, for the cell's PYTHONPATH.

    Putting the runner's own site-packages there instead would leak its client into the cell.
    """
    target = root / ".streammatrix-plugin"
    package = target / "streammatrix"
    source = Path(streammatrix.__file__).parent
    for name in PLUGIN_FILES:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, package / name)
    return target


def shared_environ(plugin_dir: Path) -> dict[str, str]:
    """What every cell's environment of a run holds (a fork server starts with exactly this).

    No claim of an axis (``TEST_REDIS_PROTOCOL``, ``TEST_REDIS_PARSER``, ...) is taken from
    the caller's environment: a cell claims only what the runner sets for it."""
    environ = cell_environ()
    for axis in proof.AXES:
        environ.pop(axis.env, None)
    environ.update(
        {
            "PYTHONPATH": str(plugin_dir),
            # compiled suite modules (and pytest's rewritten asserts) are kept outside the
            # suite's folder and shared by every cell: ~0.3 s less per cell
            "PYTHONPYCACHEPREFIX": str(plugin_dir.parent / ".pycache"),
        }
    )
    return environ


def run_cell(
    cell: Cell,
    env: ClientEnv,
    server: RunningServer,
    *,
    suite: Path,
    paths: ReportPaths,
    plugin_dir: Path,
    timeout: float,
    workdir: Path,
    reruns: int = 0,
    launcher: Launcher | None = None,
    pytest_args: Sequence[str] = (),
    extra: dict[str, str] | None = None,
) -> CellResult:
    """Run the suite for ``cell``; always leave exactly one JUnit file for it.

    ``launcher`` forks the cell's pytest from a warm server where it can; without one, the
    cell is spawned. ``pytest_args`` narrow the run (``-k feature`` for a bisection cell, node
    ids); ``reruns`` is how often a failed test runs again; ``extra`` are more cell properties.
    """
    xml, log = paths.cell_file(cell), paths.log_file(cell)
    xml.unlink(missing_ok=True)
    environ = shared_environ(plugin_dir)
    environ.update(
        {
            o.ENV_ENABLED: "true",
            o.ENV_URL: server.url,
            o.ENV_PREFIX: f"sm:{cell.id}:",
            o.ENV_CLIENT_MODULE: cell.client.module,
            o.ENV_CELL: json.dumps(cell.coordinates()),
            o.ENV_CURRENT_TEST: str(paths.running_file(cell)),
            **({o.ENV_PROTOCOL: cell.protocol} if cell.protocol else {}),
            **({o.ENV_PARSER: cell.parser} if cell.parser else {}),
            **({o.ENV_TOPOLOGY: cell.topology} if cell.topology else {}),
        }
    )
    undeployable = getattr(server, "unsupported", "")  # the server cannot be what it claims
    if undeployable:
        environ[o.ENV_UNSUPPORTED_SERVER] = undeployable

    def command(targets: list[str], junit: Path) -> list[str]:
        return [str(env.python), "-m", "pytest", *targets, *options(junit)]

    def options(junit: Path) -> list[str]:
        return [
            "-p",
            "streammatrix.plugin.pytest_plugin",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "-o",
            f"junit_suite_name={cell.id}",
            "-o",
            "junit_family=xunit1",
            "-q",
            "-rfE",
        ]

    cmd = [*command([str(suite)], xml), *pytest_args]
    # the provider that really started this server (auto runs some from their binary)
    props = {
        **base_properties(cell, env, server.kind),
        **server_properties(server),
        **(extra or {}),
    }
    props[o.SUITE_CELL_LOG] = os.path.relpath(log, paths.root)
    started = time.monotonic()
    reason = ""
    header = (
        f"$ {' '.join(cmd)}\n# server {server.url} ({server.identity.name} "
        f"{server.identity.version}), client {env.client_version}\n"
    )
    with _open_log(log, header):  # the launcher appends how the cell started, then pytest's
        pass
    launcher = launcher or Launcher({}, fork=False)

    def launch(args: list[str], timeout: float) -> Launched:
        return launcher.run_pytest(
            env.python, args, environ=environ, cwd=workdir, log=log, timeout=timeout,
            preload=client_preload(cell.client.module),
        )  # fmt: skip

    launched = launch(cmd[3:], timeout)
    code = launched.code
    hung = _running_test(paths.running_file(cell))  # the test a timeout interrupted, if any
    if code == 1 and xml.exists() and server.alive() and reruns > 0:
        found = rerun_failed(
            xml, lambda ids, junit, left: launch(command(ids, junit)[3:], left), log=log,
            reruns=reruns, deadline=started + timeout,
        )  # fmt: skip
        props[o.SUITE_CELL_RERUN_SECONDS] = f"{found.tests_seconds:.3f}"
        _running_test(paths.running_file(cell))
    seconds = time.monotonic() - started
    props[o.SUITE_CELL_SECONDS] = f"{seconds:.3f}"
    props[o.SUITE_CELL_START] = launched.start
    if code is None and not launched.error:
        reason = f"timed out after {timeout:g}s" + (f" in test {hung}" if hung else "")
    if not reason and processes.interrupted():
        reason = "interrupted: the run was stopped while this cell ran"
    if not reason and launched.error:
        reason = launched.error
    if not reason and not server.alive():
        reason = f"the server {cell.server.name} died during the cell"
    if not reason and code not in (0, 1):
        reason = f"pytest exited with code {code}" + (" (no tests collected)" if code == 5 else "")
    if reason or not xml.exists():
        reason = reason or "pytest wrote no JUnit file"
        detail = f"{reason}\n--- last lines of {log.name} ---\n{_tail(log)}"
        props.update({o.SUITE_CELL_STATUS: o.CELL_ERROR, o.SUITE_CELL_REASON: reason})
        cellfile.write_status(xml, cell.id, props, error=detail)
        return CellResult(cell, o.CELL_ERROR, seconds, Counter({o.ERROR: 1}), reason)
    counts = cellfile.outcome_counts(xml)
    refused = counts[o.UNSUPPORTED_CLIENT] + counts[o.UNSUPPORTED_SERVER]
    unproven = proof.unproven(environ, cellfile.suite_properties(xml), counts[o.PASS], refused)
    if unproven:  # its tests ran, but not as the cell claims (e.g. over another protocol)
        props.update({o.SUITE_CELL_STATUS: o.CELL_ERROR, o.SUITE_CELL_REASON: unproven})
        cellfile.annotate(xml, props)
        return CellResult(cell, o.CELL_ERROR, seconds, counts, unproven)
    props[o.SUITE_CELL_STATUS] = o.CELL_OK
    cellfile.annotate(xml, props)
    return CellResult(cell, o.CELL_OK, seconds, counts)  # annotate() adds suite properties only


def record_not_run(
    cell: Cell, paths: ReportPaths, status: str, reason: str, props: dict[str, str]
) -> CellResult:
    """The file for a cell that never started: excluded, skipped (no python), or error."""
    props = {**props, o.SUITE_CELL_STATUS: status, o.SUITE_CELL_REASON: reason}
    log = paths.log_file(cell)
    if status == o.CELL_ERROR:
        files.write_text(log, reason + "\n")
        props[o.SUITE_CELL_LOG] = os.path.relpath(log, paths.root)
    error = reason if status == o.CELL_ERROR else None
    cellfile.write_status(paths.cell_file(cell), cell.id, props, error=error)
    counts = Counter({o.ERROR: 1}) if error else Counter()
    return CellResult(cell, status, 0.0, counts, reason)


def _open_log(path: Path, header: str, mode: str = "w") -> IO[str]:
    """The cell's log, opened with its header written; OutputError naming it if it cannot be."""
    try:
        out = path.open(mode)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        out.write(header)
        out.flush()
    except OSError as exc:
        out.close()
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return out


def _running_test(path: Path) -> str:
    """The node id the plugin left in ``path`` (the test that did not finish), and the file
    removed; "" if none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    path.unlink(missing_ok=True)
    return " ".join(text.split())[:500]  # one line, whatever a test id holds


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
