"""The runner in-process: skipped python columns, exclusions, another client library, and
cells that crash in each way a cell can (timeout, pytest cannot start, no tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml
from support import PY, ROOT
from support.engine import ABSENT_IMAGE, engine
from support.matrix import write_matrix
from support.servers import reachable

from streammatrix.config.load import load
from streammatrix.plan import plan
from streammatrix.plugin import outcomes as o
from streammatrix.run.events import Events
from streammatrix.run.matrix import RunOptions, run_cells
from streammatrix.run.progress import printer
from streammatrix.servers.base import Provider
from streammatrix.servers.binary.provider import BinaryProvider
from streammatrix.servers.select import make_provider

pytestmark = pytest.mark.servers
LINES: list[str] = []  # what the console would have printed, for the tests that read it


@pytest.fixture(autouse=True)
def _fresh_lines():
    LINES.clear()


def make_matrix(tmp_path: Path, suite: str, **extra) -> Path:
    extra.setdefault("servers", ["redis-6.2"])
    extra.setdefault("clients", [{"name": "redis-4.6", "version": "4.6.0"}])
    return write_matrix(tmp_path / "matrix.yaml", suite=suite, **extra)


def run(
    tmp_path: Path, config: Path, provider: Provider | None = None, **kwargs
) -> dict[str, dict[str, str]]:
    matrix = load(config)
    options = RunOptions(report_dir=tmp_path / "report", envdir=tmp_path / "envs", **kwargs)
    events = Events([printer(LINES.append)])
    with reachable():
        results = run_cells(matrix, plan(matrix), provider or BinaryProvider(), options, events)
    assert len(results) == len(plan(matrix))
    return {
        r.cell.id: suite_properties(tmp_path / "report" / "cells" / f"{r.cell.id}.xml")
        for r in results
    }


def suite_properties(path: Path) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(path))))
    return {p.name: p.value for p in suite.properties()}


def test_other_client_library_exclusions_and_a_missing_python(tmp_path):
    config = make_matrix(
        tmp_path,
        str(ROOT / "tests" / "streams"),
        python=[PY, "3.99"],
        servers=["valkey-8.0"],
        clients=[
            {"name": "redis-4.6", "version": "4.6.0"},
            {"name": "valkey-py", "package": "valkey", "module": "valkey", "version": "latest"},
        ],
        exclude=[{"client": "redis-4.6", "python": PY, "reason": "not this time"}],
    )
    cells = run(tmp_path, config, workers=2)
    valkey = cells[f"valkey-8.0--valkey-py--py{PY}"]
    assert valkey[o.SUITE_CELL_STATUS] == o.CELL_OK
    assert valkey[o.SUITE_CLIENT_NAME] == "valkey"  # the suite really imported valkey
    assert valkey[o.SUITE_SERVER_NAME] == "valkey"
    assert valkey[o.SUITE_SERVER_VERSION].startswith("8.0")
    assert valkey[o.SUITE_CELL_PROVIDER] == "binary"
    excluded = cells[f"valkey-8.0--redis-4.6--py{PY}"]
    assert excluded[o.SUITE_CELL_STATUS] == o.CELL_EXCLUDED
    assert excluded[o.SUITE_CELL_REASON] == "not this time"
    for client in ("redis-4.6", "valkey-py"):
        missing = cells[f"valkey-8.0--{client}--py3.99"]
        assert missing[o.SUITE_CELL_STATUS] == o.CELL_SKIPPED
        assert "python 3.99 is not installed" in missing[o.SUITE_CELL_REASON]


@pytest.mark.parametrize(
    "files, reason, timeout",
    [
        # only the slow cell gets a short timeout: on a loaded machine pytest's own start can
        # take seconds, and the other cells must end by themselves
        (
            {"test_slow.py": "import time\n\ndef test_slow():\n    time.sleep(120)\n"},
            "timed out",
            3,
        ),
        ({"test_broken.py": "def test_broken(:\n"}, "pytest exited with code 2", 300),
        ({"conftest.py": ""}, "no tests collected", 300),
    ],
    ids=["timeout", "collection-error", "no-tests"],
)
def test_a_crashing_cell_is_an_error_with_its_log(tmp_path, files, reason, timeout):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, text in files.items():
        (suite / name).write_text(text)
    config = make_matrix(tmp_path, "suite", timeout=timeout)
    cells = run(tmp_path, config, workers=1)
    (props,) = cells.values()
    assert props[o.SUITE_CELL_STATUS] == o.CELL_ERROR
    assert reason in props[o.SUITE_CELL_REASON]
    log = tmp_path / "report" / props[o.SUITE_CELL_LOG]
    assert "pytest" in log.read_text()
    assert props[o.SUITE_SERVER_VERSION] == "6.2.5"  # the server it ran against is recorded


@pytest.mark.docker
def test_a_server_that_falls_back_to_its_binary_is_recorded_and_shown_as_binary(tmp_path):
    """auto with an engine: the image cannot be had, so the row runs from its binary, and the
    cell file and the console name the provider that really started it."""
    engine()
    config = make_matrix(tmp_path, str(ROOT / "tests" / "streams"), provider="auto")
    data = yaml.safe_load(config.read_text())
    data["servers"][0]["image"] = ABSENT_IMAGE  # whatever tag the catalogue row has
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    provider = make_provider("auto", notify=LINES.append)
    assert provider.kind == "auto"
    (props,) = run(tmp_path, config, provider=provider, workers=1).values()
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK
    assert props[o.SUITE_CELL_PROVIDER] == "binary"
    ready = [line for line in LINES if line.startswith("server redis-6.2 ready at")]
    assert len(ready) == 1 and ", binary, " in ready[0], LINES
    assert any("running its binary" in line for line in LINES), LINES
