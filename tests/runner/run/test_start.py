"""How cells start: forked from a warm server by default, spawned on request or where a fork
server cannot serve; either way the same outcomes, and the cell file says which it was."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import PY
from support.matrix import copy_suite, write_matrix
from support.servers import eventually, reachable
from support.suites import meet

from streammatrix import cli
from streammatrix.plugin import outcomes as o
from streammatrix.run.cell import plugin_path, shared_environ
from streammatrix.run.launch import Launcher

CLIENTS = [{"name": "old", "version": "4.6.0"}, {"name": "new", "version": "latest"}]


def cell_files(report: Path) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Per cell file: its <testsuite> properties, and each testcase's classified outcome."""
    found = {}
    for path in sorted((report / "cells").glob("*.xml")):
        suite = ET.parse(path).getroot()
        suite = suite if suite.tag == "testsuite" else next(suite.iter("testsuite"))
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        cases = {
            f"{case.get('classname')}::{case.get('name')}": next(
                (p.get("value") for p in case.iter("property") if p.get("name") == "outcome"), None
            )
            for case in suite.iter("testcase")
        }
        found[path.stem] = props, cases
    return found


@pytest.mark.servers
@pytest.mark.slow
def test_a_matrix_forks_its_cells_with_the_same_outcomes_as_spawned_ones(tmp_path):
    copy_suite(tmp_path / "suite")
    config = write_matrix(tmp_path / "matrix.yaml", servers=["redis-7.0"], clients=CLIENTS)
    runs = {}
    for how, extra in (("fork", []), ("spawn", ["--no-fork"])):
        report = tmp_path / how
        argv = ["run", "--config", str(config), "--report-dir", str(report),
                "--envdir", str(tmp_path / "envs"), "--workers", "2", *extra]  # fmt: skip
        with reachable():
            code = cli.main(argv)
        runs[how] = code, cell_files(report)
        for name, (props, cases) in runs[how][1].items():
            assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, (how, name, props)
            assert props[o.SUITE_CELL_START] == how, (how, name)
            assert len(cases) > 50 and o.PASS in cases.values()
            log = (report / props[o.SUITE_CELL_LOG]).read_text()
            assert f"# start: {how} (" in log
    assert runs["fork"][0] == runs["spawn"][0]
    fork, spawn = runs["fork"][1], runs["spawn"][1]
    assert (
        sorted(fork) == sorted(spawn) == sorted(f"redis-7.0--{c['name']}--py{PY}" for c in CLIENTS)
    )
    for name in fork:
        assert fork[name][1] == spawn[name][1], name  # every test, the same outcome


@pytest.mark.servers
def test_start_spawn_in_matrix_yaml_spawns_every_cell(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_one.py").write_text("def test_one():\n    pass\n")
    config = write_matrix(
        tmp_path / "matrix.yaml", servers=["redis-6.2"], clients=CLIENTS[:1], start="spawn"
    )
    argv = ["run", "--config", str(config), "--report-dir", str(tmp_path / "report"),
            "--envdir", str(tmp_path / "envs"), "--workers", "1"]  # fmt: skip
    with reachable():
        assert cli.main(argv) == 0
    ((props, cases),) = cell_files(tmp_path / "report").values()
    assert props[o.SUITE_CELL_START] == o.START_SPAWN
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK and list(cases) == ["suite.test_one::test_one"]


def test_a_bad_start_in_matrix_yaml_is_a_usage_error(tmp_path):
    (tmp_path / "suite").mkdir()
    config = write_matrix(
        tmp_path / "matrix.yaml", servers=["redis-6.2"], clients=CLIENTS[:1], start="vfork"
    )
    assert cli.main(["list", "--config", str(config)]) == 2


def one_test(tmp_path: Path, body: str) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_it.py").write_text(textwrap.dedent(body))
    return suite


def launch(launcher: Launcher, suite: Path, environ: dict[str, str], log: Path, **kwargs):
    args = [str(suite), "-p", "no:cacheprovider", "-q"]
    return launcher.run_pytest(
        sys.executable, args, environ=environ, cwd=suite, log=log, timeout=120, **kwargs
    )


def test_where_no_fork_server_can_serve_the_cell_is_spawned_and_the_log_says_why(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n"
    )
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    shared["PYTHONPATH"] += os.pathsep + str(extra)
    suite = one_test(tmp_path, "def test_ok():\n    pass\n")
    with Launcher(shared) as launcher:
        for attempt in range(2):  # the reason is remembered: no second server is tried
            log = tmp_path / f"cell{attempt}.log"
            launched = launch(launcher, suite, shared, log, preload=("starts_a_thread",))
            assert (launched.code, launched.start, launched.error) == (0, o.START_SPAWN, "")
            assert "# start: spawn (no fork server: " in log.read_text()
            assert "2 threads" in log.read_text()


def test_a_fork_server_that_dies_under_its_cell_ends_that_cell_only(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    suite = one_test(
        tmp_path,
        """
        import os, signal

        def test_kill_my_fork_server():
            if os.environ.get("KILL_PARENT"):
                os.kill(os.getppid(), signal.SIGKILL)
                signal.pause()  # dies with it (PR_SET_PDEATHSIG)
        """,
    )
    with Launcher(shared) as launcher:
        environ = {**shared, "KILL_PARENT": "1"}
        died = launch(launcher, suite, environ, tmp_path / "died.log")
        assert died.start == o.START_FORK and died.code is None
        assert "the fork server died" in died.error
        again = launch(launcher, suite, shared, tmp_path / "again.log")
        assert (again.code, again.start, again.error) == (0, o.START_FORK, "")


def test_without_fork_every_cell_is_spawned(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    suite = one_test(tmp_path, "def test_ok():\n    pass\n")
    with Launcher(shared, fork=False) as launcher:
        launched = launch(launcher, suite, shared, tmp_path / "cell.log")
    assert (launched.code, launched.start) == (0, o.START_SPAWN)


def fork_servers_of(pid: int) -> list[int]:
    """The running fork servers whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"forkserver_serve.py" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_warmed_server_serves_the_first_cells_and_no_other_is_started(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    suite = one_test(tmp_path, "def test_ok():\n    pass\n")
    with Launcher(shared) as launcher:
        launcher.warm(sys.executable, ("json",))
        logs = [tmp_path / f"cell{i}.log" for i in range(2)]
        for log in logs:  # the first may come before the server is up: it waits for it
            assert launch(launcher, suite, shared, log).start == o.START_FORK
        (server,) = fork_servers_of(os.getpid())
        for log in logs:
            assert f"# start: fork (fork server {server})" in log.read_text()
    assert not fork_servers_of(os.getpid())


def test_warmed_servers_start_before_any_cell_one_per_interpreter(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    suite = one_test(tmp_path, "def test_ok():\n    pass\n")
    here = Path(sys.executable)
    other = f"{here.parent}{os.sep}..{os.sep}{here.parent.name}{os.sep}{here.name}"  # same file
    with Launcher(shared, warmers=1) as launcher:
        launcher.warm(sys.executable, ("json",))
        launcher.warm(other, ("json",))
        launcher.warm(other, ("json",))  # asked twice: still one
        assert eventually(lambda: len(fork_servers_of(os.getpid())) == 2, within=120)
        servers = set(fork_servers_of(os.getpid()))
        for python in (sys.executable, other):
            log = tmp_path / f"{len(python)}.log"
            args = [str(suite), "-p", "no:cacheprovider", "-q"]
            launched = launcher.run_pytest(
                python, args, environ=shared, cwd=suite, log=log, timeout=120
            )
            assert (launched.code, launched.start) == (0, o.START_FORK)
            assert any(f"# start: fork (fork server {pid})" in log.read_text() for pid in servers)
        assert set(fork_servers_of(os.getpid())) == servers
    assert not fork_servers_of(os.getpid())


def test_a_queued_warm_up_is_started_by_the_cell_that_needs_it(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    suite = one_test(tmp_path, "def test_ok():\n    pass\n")
    slow = tmp_path / "slow"
    slow.mkdir()
    gate = tmp_path / "gate"
    (slow / "gated.py").write_text(  # the first warm-up holds the only warmer until told
        f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.05)\n"
    )
    shared["PYTHONPATH"] += os.pathsep + str(slow)
    here = Path(sys.executable)
    other = f"{here.parent}{os.sep}..{os.sep}{here.parent.name}{os.sep}{here.name}"
    try:
        with Launcher(shared, warmers=1) as launcher:
            launcher.warm(sys.executable, ("gated",))
            launcher.warm(other, ("json",))  # queued behind the gated one
            log = tmp_path / "cell.log"
            launched = launch_with(launcher, other, suite, shared, log)
            assert (launched.code, launched.start) == (0, o.START_FORK)
            assert not gate.exists()  # it never waited for the warmer's turn
            gate.write_text("")
    finally:
        gate.write_text("")


def launch_with(launcher: Launcher, python: str, suite: Path, environ: dict, log: Path):
    args = [str(suite), "-p", "no:cacheprovider", "-q"]
    return launcher.run_pytest(python, args, environ=environ, cwd=suite, log=log, timeout=120)


def test_cells_at_once_fork_from_one_server_each_its_own_child(tmp_path):
    shared = shared_environ(plugin_path(tmp_path / "envs"))
    a, b = tmp_path / "a", tmp_path / "b"
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, here, there in (("left", a, b), ("right", b, a)):
        (suite / f"test_{name}.py").write_text(textwrap.dedent(meet(here, there)))
    results = {}
    with Launcher(shared) as launcher:

        def cell(name: str) -> None:
            log = tmp_path / f"{name}.log"
            args = [str(suite / f"test_{name}.py"), "-p", "no:cacheprovider", "-q"]
            results[name] = launcher.run_pytest(
                sys.executable, args, environ=shared, cwd=suite, log=log, timeout=120
            )

        threads = [threading.Thread(target=cell, args=(n,)) for n in ("left", "right")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        (server,) = fork_servers_of(os.getpid())
    assert {n: (r.code, r.start) for n, r in results.items()} == {
        "left": (0, o.START_FORK), "right": (0, o.START_FORK)
    }  # fmt: skip
    for name in ("left", "right"):
        assert f"# start: fork (fork server {server})" in (tmp_path / f"{name}.log").read_text()
    assert a.read_text() != b.read_text()
