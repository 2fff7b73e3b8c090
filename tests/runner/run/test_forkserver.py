"""The fork server on real processes: the same results as a plain ``python -m pytest``, and a
cell that hangs, crashes or outlives its runner takes nothing else down and leaves nothing behind.

The client environment here is this interpreter (it has pytest, pytest-asyncio and redis).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import support.servers as h
from support import ROOT
from support.suites import meet

from streammatrix import processes
from streammatrix.plugin import outcomes
from streammatrix.run.cell import plugin_path, shared_environ
from streammatrix.run.forkserver import ForkServer, ForkServerError
from streammatrix.run.forkserver_serve import blocked
from streammatrix.servers import base
from streammatrix.servers.binary.provider import BinaryProvider

PLUGIN = "streammatrix.plugin.pytest_plugin"
CELL_ARGS = ["-p", PLUGIN, "-p", "no:cacheprovider", "-o", "junit_family=xunit1", "-q", "-rfE"]


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """What every cell of one client environment shares (as the runner makes it)."""
    return shared_environ(plugin_path(tmp_path / "envs"))


@pytest.fixture
def server(environ: dict[str, str]) -> Iterator[ForkServer]:
    with ForkServer.start(
        sys.executable, environ, preload=("redis", "redis.asyncio"), plugins=(PLUGIN,)
    ) as started:
        assert not h.gone(started.process.pid)
        yield started
    assert h.gone(started.process.pid)


def suite(tmp_path: Path, **tests: str) -> Path:
    """A directory of test modules: ``name=body`` becomes ``test_name.py``."""
    folder = tmp_path / "suite"
    folder.mkdir(exist_ok=True)
    for name, body in tests.items():
        (folder / f"test_{name}.py").write_text(textwrap.dedent(body))
    return folder


def pid_file_test(pidfile: Path, then: str) -> str:
    """A test that writes its pid to ``pidfile``, then runs ``then``."""
    return f"""
        import os, pathlib, signal, time

        def test_it():
            pathlib.Path({str(pidfile)!r}).write_text(str(os.getpid()))
            {then}
    """


@pytest.mark.servers
def test_a_cell_has_the_same_junit_outcomes_as_a_plain_subprocess(tmp_path, environ, server):
    spec = h.by_name("redis-7.0")
    h.fetch(spec)
    with base.serve(BinaryProvider(), spec) as redis_server:
        results = {}
        for how in ("spawn", "fork"):
            xml, log = tmp_path / f"{how}.xml", tmp_path / f"{how}.log"
            env = {
                **environ,
                outcomes.ENV_ENABLED: "true",
                outcomes.ENV_URL: redis_server.url,
                outcomes.ENV_PREFIX: f"sm:{how}:",
                outcomes.ENV_CELL: json.dumps({"id": how}),
            }
            args = [str(ROOT / "tests" / "streams"), *CELL_ARGS, f"--junitxml={xml}"]
            if how == "spawn":
                with log.open("w") as out:
                    cmd = [sys.executable, "-m", "pytest", *args]
                    code = processes.spawn(cmd, env=env, stdout=out, cwd=ROOT).wait()
            else:
                code = server.run(args, env, ROOT, log, timeout=600)
            results[how] = code, outcomes_of(xml)
    assert results["fork"] == results["spawn"]
    code, found = results["fork"]
    assert code in (0, 1) and len(found) > 50
    assert "pass" in found.values()
    assert "Warning" not in (tmp_path / "fork.log").read_text()  # asserts rewritten as usual


def outcomes_of(xml: Path) -> dict[str, str]:
    """Each testcase's classified outcome (the plugin's ``outcome`` property)."""
    return {
        f"{case.get('classname')}::{case.get('name')}": next(
            p.get("value") for p in case.iter("property") if p.get("name") == "outcome"
        )
        for case in ET.parse(xml).getroot().iter("testcase")
    }


def test_each_cell_collects_afresh_and_leaves_nothing_to_the_next(tmp_path, environ, server):
    folder = suite(
        tmp_path,
        fresh="""
            import json

            json.touched = getattr(json, "touched", 0) + 1  # a module the server has imported

            def test_first_import():
                assert json.touched == 1

            def test_rewritten():
                found = 41
                assert found == 42
        """,
    )
    for _ in range(2):
        log = tmp_path / "cell.log"
        log.write_text("")
        assert server.run([str(folder), *CELL_ARGS], environ, folder, log, timeout=120) == 1
        text = log.read_text()
        assert "1 failed, 1 passed" in text
        assert "assert 41 == 42" in text  # pytest rewrote the suite's asserts in the child


def test_a_hanging_cell_is_killed_at_its_timeout_and_the_server_serves_on(
    tmp_path, environ, server
):
    pidfile = tmp_path / "pid"
    folder = suite(
        tmp_path, hang=pid_file_test(pidfile, "time.sleep(600)"), ok="def test_ok(): pass"
    )
    log = tmp_path / "cell.log"
    args = [str(folder / "test_hang.py"), *CELL_ARGS]
    assert server.run(args, environ, folder, log, timeout=3) is None
    assert h.eventually(lambda: h.gone(int(pidfile.read_text())))
    args = [str(folder / "test_ok.py"), *CELL_ARGS]
    assert server.run(args, environ, folder, log, timeout=120) == 0


@pytest.mark.parametrize(
    "then, code",
    [("os._exit(70)", 70), ("os.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV)],
    ids=["exit-70", "segfault"],
)
def test_a_crashing_cell_takes_only_itself_down(tmp_path, environ, server, then, code):
    pidfile = tmp_path / "pid"
    folder = suite(tmp_path, crash=pid_file_test(pidfile, then), ok="def test_ok(): pass")
    log = tmp_path / "cell.log"
    assert (
        server.run([str(folder / "test_crash.py"), *CELL_ARGS], environ, folder, log, 120) == code
    )
    assert h.gone(int(pidfile.read_text()))
    assert server.process.poll() is None
    assert server.run([str(folder / "test_ok.py"), *CELL_ARGS], environ, folder, log, 120) == 0


def test_kill_cell_from_another_thread_stops_the_running_cell(tmp_path, environ, server):
    pidfile = tmp_path / "pid"
    folder = suite(tmp_path, hang=pid_file_test(pidfile, "time.sleep(600)"))

    def interrupt() -> None:
        assert h.eventually(pidfile.exists, within=60)
        server.kill_cell()

    thread = threading.Thread(target=interrupt)
    thread.start()
    code = server.run([str(folder), *CELL_ARGS], environ, folder, tmp_path / "cell.log", 600)
    thread.join()
    assert code == -signal.SIGKILL
    assert h.gone(int(pidfile.read_text()))


def test_killing_the_runner_leaves_no_server_and_no_cell(tmp_path, environ):
    pidfile = tmp_path / "pid"
    folder = suite(tmp_path, hang=pid_file_test(pidfile, "time.sleep(600)"))
    (tmp_path / "environ.json").write_text(json.dumps(environ))
    runner = h.python(
        f"""
import json, pathlib, sys
from streammatrix.run.forkserver import ForkServer
env = json.loads(pathlib.Path({str(tmp_path / "environ.json")!r}).read_text())
server = ForkServer.start(sys.executable, env)
print(server.process.pid, flush=True)
server.run([{str(folder)!r}, "-p", "no:cacheprovider"], env, {str(folder)!r},
           {str(tmp_path / "cell.log")!r}, 600)
""",
        stdout=subprocess.PIPE,
    )
    try:
        fork_server = int(runner.stdout.readline())
        assert h.eventually(pidfile.exists, within=60)
        cell = int(pidfile.read_text())
        assert not h.gone(fork_server) and not h.gone(cell)
    finally:
        runner.kill()
        runner.wait()
    assert h.eventually(lambda: h.gone(fork_server) and h.gone(cell))


def test_a_server_that_cannot_start_says_why(tmp_path, environ):
    with pytest.raises(ForkServerError, match="cannot run"):
        ForkServer.start(tmp_path / "no-python", environ)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest.py").write_text("raise ImportError('no pytest in this environment')\n")
    env = {**environ, "PYTHONPATH": f"{shadow}{os.pathsep}{environ['PYTHONPATH']}"}
    with pytest.raises(ForkServerError, match="no pytest in this environment"):
        ForkServer.start(sys.executable, env)


def test_a_server_whose_imports_leave_a_thread_refuses_to_fork(tmp_path, environ):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n"
    )
    env = {**environ, "PYTHONPATH": f"{extra}{os.pathsep}{environ['PYTHONPATH']}"}
    with pytest.raises(ForkServerError, match="2 threads"):
        ForkServer.start(sys.executable, env, preload=("starts_a_thread",))


def test_a_cell_with_other_interpreter_settings_is_refused(tmp_path, environ, server):
    env = {**environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "elsewhere")}
    with pytest.raises(ForkServerError, match="PYTHONPYCACHEPREFIX"):
        server.run(["--version"], env, tmp_path, tmp_path / "cell.log", 60)


def run_side_by_side(server: ForkServer, cells: dict[str, tuple[list[str], Path, float]]):
    """Run each cell's args from its own thread at once: {name: exit code or None}."""
    codes: dict[str, int | None] = {}

    def one(name: str) -> None:
        args, folder, timeout = cells[name]
        codes[name] = server.run(args, server.env, folder, folder / f"{name}.log", timeout)

    threads = [threading.Thread(target=one, args=(name,)) for name in cells]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_one_server_runs_cells_side_by_side_each_with_its_own_exit_code(tmp_path, server):
    a, b = tmp_path / "a", tmp_path / "b"
    folder = suite(tmp_path, left=meet(a, b), right=meet(b, a, then="assert False"))
    codes = run_side_by_side(
        server,
        {
            "left": ([str(folder / "test_left.py"), *CELL_ARGS], folder, 120),
            "right": ([str(folder / "test_right.py"), *CELL_ARGS], folder, 120),
        },
    )
    assert codes == {"left": 0, "right": 1}
    assert int(a.read_text()) != int(b.read_text())  # two children, not one
    assert server.running == 0


@pytest.mark.parametrize(
    "then, code",
    [("os.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV), ("time.sleep(600)", None)],
    ids=["segfault", "hang"],
)
def test_a_cell_that_crashes_or_hangs_beside_another_takes_only_itself_down(
    tmp_path, server, then, code
):
    bad, good = tmp_path / "bad", tmp_path / "good"
    folder = suite(tmp_path, bad=meet(bad, good, then=then), good=meet(good, bad))
    codes = run_side_by_side(
        server,
        {
            "bad": ([str(folder / "test_bad.py"), *CELL_ARGS], folder, 20),
            "good": ([str(folder / "test_good.py"), *CELL_ARGS], folder, 120),
        },
    )
    assert codes == {"bad": code, "good": 0}
    assert h.eventually(lambda: h.gone(int(bad.read_text())))
    assert server.process.poll() is None
    assert server.run([str(folder / "test_good.py"), *CELL_ARGS, "-k", "nothing"],
                      server.env, folder, tmp_path / "again.log", 120) == 5  # fmt: skip


def test_kill_cell_without_a_run_stops_every_running_cell(tmp_path, server):
    a, b = tmp_path / "a", tmp_path / "b"
    folder = suite(
        tmp_path, one=meet(a, b, then="time.sleep(600)"), two=meet(b, a, then="time.sleep(600)")
    )

    def interrupt() -> None:
        assert h.eventually(lambda: a.exists() and b.exists(), within=60)
        server.kill_cell()

    thread = threading.Thread(target=interrupt)
    thread.start()
    codes = run_side_by_side(
        server,
        {
            name: ([str(folder / f"test_{name}.py"), *CELL_ARGS], folder, 600)
            for name in ("one", "two")
        },
    )
    thread.join()
    assert codes == {"one": -signal.SIGKILL, "two": -signal.SIGKILL}
    assert h.gone(int(a.read_text())) and h.gone(int(b.read_text()))


# A conftest that records how the cell's pytest config was made: "prepared" is true when the
# config is older than the fork (the server froze it: gc.get_objects() does not list it).
RECORD_CONFIG = """
    import gc, json, os, pathlib

    def pytest_configure(config):
        seen = {{
            "prepared": not any(o is config for o in gc.get_objects()),
            "dir": str(config.invocation_params.dir),
            "args": list(config.invocation_params.args),
            "doctest": config.pluginmanager.get_plugin("doctest") is not None,
            "cacheprovider": config.pluginmanager.is_blocked("cacheprovider"),
        }}
        with open({out!r}, "a") as out:
            out.write(json.dumps(seen) + "\\n")
"""


def recorded(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_cell_starts_from_the_config_the_server_prepared_for_its_arguments(
    tmp_path, environ, server
):
    out = tmp_path / "configs.jsonl"
    folder = suite(tmp_path, it="def test_it():\n    pass\n")
    (folder / "conftest.py").write_text(textwrap.dedent(RECORD_CONFIG.format(out=str(out))))
    runs = [
        [str(folder), *CELL_ARGS],
        [str(folder), *CELL_ARGS, "-p", "no:doctest"],  # another blocked set: its own config
        [str(folder), *CELL_ARGS],
        [str(folder), "-pno:doctest", "-q"],  # the same set, written as one argument
    ]
    for args in runs:
        assert server.run(args, environ, folder, tmp_path / "cell.log", timeout=120) == 0
    seen = recorded(out)
    assert [s["prepared"] for s in seen] == [True] * 4
    assert [s["args"] for s in seen] == runs  # each child's own arguments and directory
    assert {s["dir"] for s in seen} == {str(folder)}
    assert [s["doctest"] for s in seen] == [True, False, True, False]
    assert [s["cacheprovider"] for s in seen] == [True, True, True, False]


def test_a_cell_with_pytest_debug_or_a_second_pytest_main_builds_its_own_config(
    tmp_path, environ, server
):
    out = tmp_path / "configs.jsonl"
    (tmp_path / "inner").mkdir()
    inner = suite(tmp_path / "inner", inner="def test_inner():\n    pass\n")
    (inner / "conftest.py").write_text(textwrap.dedent(RECORD_CONFIG.format(out=str(out))))
    outer = suite(
        tmp_path,
        outer=f"""
            import pytest

            def test_runs_pytest_again():
                assert pytest.main([{str(inner)!r}, "-q", "-p", "no:cacheprovider"]) == 0
        """,
    )
    log = tmp_path / "cell.log"
    assert server.run([str(outer), *CELL_ARGS], environ, outer, log, timeout=120) == 0
    debug = {**environ, "PYTEST_DEBUG": "1"}
    assert server.run([str(inner), *CELL_ARGS], debug, inner, log, timeout=120) == 0
    assert [s["prepared"] for s in recorded(out)] == [False, False]
    assert "pytest_plugin_registered" in log.read_text()  # PYTEST_DEBUG's trace was written


@pytest.mark.parametrize(
    "args, found",
    [
        (["-p", "no:a", "-pno:b", "-p", "c", "-p", " no:d "], ("no:a", "no:b", "no:d")),
        (["x", "-p"], ()),
        (["--pdb", "-pc"], ()),
    ],
)
def test_blocked_plugins_are_read_as_pytest_reads_them(args, found):
    assert blocked(args) == found


def test_arguments_pytest_refuses_are_refused_in_the_cell_and_the_server_serves_on(
    tmp_path, environ, server
):
    folder = suite(tmp_path, it="def test_it():\n    pass\n")
    log = tmp_path / "cell.log"
    # an essential plugin cannot be blocked: pytest's usage error (4), from the cell itself
    assert server.run([str(folder), "-p", "no:mark"], environ, folder, log, timeout=120) == 4
    assert "plugin mark cannot be disabled" in log.read_text()
    assert server.run([str(folder), *CELL_ARGS], environ, folder, log, timeout=120) == 0
