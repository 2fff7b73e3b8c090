"""The pytest plugin: how results are classified and what lands in the JUnit file.

The classification rules are checked on :func:`classify_failure` directly, and end to end by
running pytest in a subprocess on small test files against a stand-in server that answers
``INFO server`` with a chosen version (the plugin reads the version from the server itself).
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ROOT

from streammatrix.plugin import outcomes
from streammatrix.plugin.classify import classify_failure

SRC = ROOT / "src"


# --------------------------------------------------------------------------------------------
# helpers


@contextmanager
def info_server(**fields: str) -> Iterator[str]:
    """A stand-in server on 127.0.0.1 that answers every request with INFO ``fields``."""
    body = "# Server\r\n" + "".join(f"{k}:{v}\r\n" for k, v in fields.items())
    reply = f"${len(body.encode())}\r\n{body}\r\n".encode()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if conn.recv(65536):
                        conn.sendall(reply)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@dataclass
class Case:
    outcome: str
    feature: str
    since: str
    reason: str
    skipped_message: str | None
    failed: bool
    errored: bool
    properties: dict[str, str]


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    suite_properties: dict[str, str]
    cases: dict[str, Case]

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


def parse_junit(path: Path) -> tuple[dict[str, str], dict[str, Case]]:
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    suite_props = {
        p.get("name", ""): p.get("value", "") for p in suite.findall("./properties/property")
    }
    cases = {}
    for case in suite.findall("testcase"):
        props = {
            p.get("name", ""): p.get("value", "") for p in case.findall("./properties/property")
        }
        skipped = case.find("skipped")
        cases[case.get("name", "")] = Case(
            outcome=props.get(outcomes.CASE_OUTCOME, ""),
            feature=props.get(outcomes.CASE_FEATURE, ""),
            since=props.get(outcomes.CASE_SINCE, ""),
            reason=props.get(outcomes.CASE_REASON, ""),
            skipped_message=None if skipped is None else skipped.get("message", ""),
            failed=case.find("failure") is not None,
            errored=case.find("error") is not None,
            properties=props,
        )
    return suite_props, cases


FAKE_CLIENT = '''
"""Stands for a client library: the plugin decides "client lacks it" by the objects' package."""

class Redis:
    def xadd(self, name, fields):
        return "1-0"

class Pipeline:
    pass

def from_url(url):
    return Redis()
'''

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
junit_family = xunit1
"""


def run_pytest(
    tmp_path: Path,
    tests: str,
    *args: str,
    env: dict[str, str] | None = None,
    family: str | None = None,
) -> Run:
    """Run pytest in a subprocess on ``tests`` (one module) with -W error; parse its JUnit file."""
    (tmp_path / "pytest.ini").write_text(INI if family is None else INI.replace("xunit1", family))
    (tmp_path / "fakeclient").mkdir(exist_ok=True)
    (tmp_path / "fakeclient" / "__init__.py").write_text(FAKE_CLIENT)
    (tmp_path / "test_cases.py").write_text(textwrap.dedent(tests))
    junit = tmp_path / "junit.xml"
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_REDIS", "REDIS_URL", "TEST_STREAM", "STREAMMATRIX_CELL"))
    }
    full_env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(tmp_path)])
    full_env.update(env or {})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_cases.py",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            f"--junitxml={junit}",
            "-q",
            *args,
        ],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert junit.exists(), proc.stdout + proc.stderr
    suite_props, cases = parse_junit(junit)
    return Run(proc, suite_props, cases)


def enabled(url: str, client: str = "fakeclient", **extra: str) -> dict[str, str]:
    return {"TEST_REDIS_ENABLED": "true", "REDIS_URL": url, "TEST_REDIS_CLIENT": client, **extra}


REDIS_62 = {"redis_version": "6.2.5", "redis_mode": "standalone"}
VALKEY_91 = {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "9.1.2"}


# --------------------------------------------------------------------------------------------
# classify_failure, directly


class ResponseError(Exception):
    """Named like every client's server-error class: the plugin matches the name in the MRO."""


class BusyGroupError(ResponseError):
    pass


@pytest.mark.parametrize(
    "message",
    [
        "unknown command `XAUTOCLAIM`, with args beginning with: `k`, ",
        "unknown command 'XACKDEL', with args beginning with: 'k' 'g' ",
        "Unknown subcommand or wrong number of arguments for 'CREATECONSUMER'. Try XGROUP HELP.",
        "wrong number of arguments for 'xsetid' command",
        "syntax error",
        "Invalid stream ID specified as stream command argument",
        "unrecognized option 'FOO'",
    ],
)
def test_server_rejection_below_since_is_unsupported_server(message):
    outcome, reason = classify_failure(ResponseError(message), "7.0.0", "6.2.5")
    assert outcome == outcomes.UNSUPPORTED_SERVER
    assert "6.2.5 < 7.0.0" in reason
    assert "with args beginning" not in reason


def test_server_rejection_at_or_above_since_is_a_failure():
    for version in ("7.0.0", "7.0.15", "8.2.3"):
        outcome, reason = classify_failure(ResponseError("syntax error"), "7.0.0", version)
        assert outcome == outcomes.FAIL, version
        assert ">= 7.0.0" in reason


def test_versions_compare_numerically_not_as_text():
    assert classify_failure(ResponseError("syntax error"), "10.0.0", "9.1.2")[0] == (
        outcomes.UNSUPPORTED_SERVER
    )
    assert classify_failure(ResponseError("syntax error"), "7.4.0", "7.10.0")[0] == outcomes.FAIL


def test_subclass_of_a_response_error_counts():
    assert classify_failure(BusyGroupError("unknown command"), "9.0.0", "8.0.0")[0] == (
        outcomes.UNSUPPORTED_SERVER
    )


def test_other_server_errors_are_failures_whatever_the_version():
    for message in ("BUSYGROUP Consumer Group name already exists", "WRONGTYPE Operation"):
        assert classify_failure(ResponseError(message), "9.0.0", "6.2.5")[0] == outcomes.FAIL


def test_non_response_error_with_the_same_words_is_a_failure():
    assert classify_failure(RuntimeError("unknown command"), "9.0.0", "6.2.5")[0] == (outcomes.FAIL)


def test_missing_reply_field_is_unsupported_server_only_below_since():
    assert classify_failure(KeyError("inactive"), "7.2.0", "7.0.15")[0] == (
        outcomes.UNSUPPORTED_SERVER
    )
    assert classify_failure(KeyError("inactive"), "7.2.0", "7.2.4")[0] == outcomes.FAIL


def test_unknown_server_version_or_since_never_hides_a_failure():
    assert classify_failure(ResponseError("syntax error"), "7.0.0", None)[0] == outcomes.FAIL
    assert classify_failure(ResponseError("syntax error"), "", "6.2.5")[0] == outcomes.FAIL


def test_unexpected_keyword_and_import_error_are_unsupported_client(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_CLIENT", "redis")

    def xadd(name, fields):
        return None

    with pytest.raises(TypeError) as excinfo:
        xadd("k", {}, ref_policy="ACKED")  # type: ignore[call-arg]
    assert classify_failure(excinfo.value, "8.2.0", "8.2.3")[0] == outcomes.UNSUPPORTED_CLIENT
    missing = ModuleNotFoundError("No module named 'redis.asyncio'", name="redis.asyncio")
    assert classify_failure(missing, "5.0.0", "8.2.3")[0] == outcomes.UNSUPPORTED_CLIENT
    assert classify_failure(TypeError("unsupported operand"), "5.0.0", "8.2.3")[0] == (
        outcomes.FAIL
    )


def test_attribute_error_of_the_client_is_unsupported_client(monkeypatch):
    import redis

    monkeypatch.setenv("TEST_REDIS_CLIENT", "redis")
    client = redis.Redis()
    with pytest.raises(AttributeError) as on_client:
        client.no_such_command()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError) as on_pipeline:
        client.pipeline().no_such_command()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError) as on_module:
        redis.no_such_function()  # type: ignore[attr-defined]
    for excinfo in (on_client, on_pipeline, on_module):
        assert classify_failure(excinfo.value, "5.0.0", "8.2.3")[0] == (outcomes.UNSUPPORTED_CLIENT)
    # an AttributeError on anything else (a None reply, a test's own object) is a failure
    with pytest.raises(AttributeError) as on_none:
        None.get("x")  # type: ignore[union-attr]
    assert classify_failure(on_none.value, "5.0.0", "8.2.3")[0] == outcomes.FAIL
    monkeypatch.setenv("TEST_REDIS_CLIENT", "valkey")
    assert classify_failure(on_client.value, "5.0.0", "8.2.3")[0] == outcomes.FAIL


def test_attribute_error_without_obj_falls_back_to_the_message(monkeypatch):
    import redis

    monkeypatch.setenv("TEST_REDIS_CLIENT", "redis")
    assert redis.Redis  # the class is known in the client's modules
    lacks = AttributeError("'Redis' object has no attribute 'xackdel'")
    assert classify_failure(lacks, "8.2.0", "8.2.3")[0] == outcomes.UNSUPPORTED_CLIENT
    module = AttributeError("module 'redis.asyncio' has no attribute 'Foo'")
    assert classify_failure(module, "8.2.0", "8.2.3")[0] == outcomes.UNSUPPORTED_CLIENT
    other = AttributeError("'Widget' object has no attribute 'x'")
    assert classify_failure(other, "8.2.0", "8.2.3")[0] == outcomes.FAIL


def test_single_exception_groups_are_unwrapped():
    class Group(Exception):  # the shape of ExceptionGroup (3.11+) and its backport
        def __init__(self, exceptions):
            super().__init__("group")
            self.exceptions = exceptions

    one = Group([ResponseError("unknown command 'X'")])
    assert classify_failure(one, "9.0.0", "7.0.0")[0] == outcomes.UNSUPPORTED_SERVER
    two = Group([ResponseError("unknown command 'X'"), ResponseError("syntax error")])
    assert classify_failure(two, "9.0.0", "7.0.0")[0] == outcomes.FAIL


# --------------------------------------------------------------------------------------------
# end to end: pytest in a subprocess

CLASSIFIED = """
import pytest
import fakeclient

class ResponseError(Exception):
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture could not connect")

@pytest.fixture
def lacking():
    fakeclient.Redis().set_response_callback("XAUTOCLAIM", None)  # not in this client

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("cleanup failed")

@pytest.mark.feature("f-pass", since="5.0.0")
def test_pass(record_property):
    record_property("latency_ms", 0.5)
    record_property("latency_target_ms", 1)

@pytest.mark.feature("f-fail", since="5.0.0")
def test_fail():
    assert 1 == 2

@pytest.mark.feature("f-new", since="7.0.0")
def test_server_too_old():
    raise ResponseError("unknown command 'XNEW', with args beginning with: 'k'")

@pytest.mark.feature("f-old", since="6.0.0")
def test_server_should_have_it():
    raise ResponseError("syntax error")

@pytest.mark.feature("f-field", since="7.2.0")
def test_missing_field():
    {"name": "c"}["inactive"]

@pytest.mark.feature("f-client", since="5.0.0")
def test_client_lacks_method():
    fakeclient.from_url("redis://x").xackdel("k")

@pytest.mark.feature("f-kw", since="5.0.0")
def test_client_lacks_keyword():
    fakeclient.from_url("redis://x").xadd("k", {}, ref_policy="ACKED")

@pytest.mark.feature("f-import", since="5.0.0")
def test_client_lacks_module():
    import fakeclient.asyncio  # noqa: F401

@pytest.mark.feature("f-none", since="5.0.0")
def test_attribute_error_on_none():
    None.get("x")

@pytest.mark.feature("f-setup", since="5.0.0")
def test_setup_error(broken):
    pass

@pytest.mark.feature("f-teardown", since="5.0.0")
def test_teardown_error(bad_teardown):
    pass

@pytest.mark.feature("f-skip", since="5.0.0")
def test_skips_itself():
    pytest.skip("not today")

@pytest.mark.feature("f-fixture-lacks", since="5.0.0")
def test_fixture_finds_the_client_lacking(lacking):
    pass

def test_without_feature():
    pass
"""


def test_every_class_lands_in_the_junit_file(tmp_path):
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, CLASSIFIED, env=enabled(url))
    cases = run.cases
    expected = {
        "test_pass": outcomes.PASS,
        "test_fail": outcomes.FAIL,
        "test_server_too_old": outcomes.UNSUPPORTED_SERVER,
        "test_server_should_have_it": outcomes.FAIL,
        "test_missing_field": outcomes.UNSUPPORTED_SERVER,
        "test_client_lacks_method": outcomes.UNSUPPORTED_CLIENT,
        "test_client_lacks_keyword": outcomes.UNSUPPORTED_CLIENT,
        "test_client_lacks_module": outcomes.UNSUPPORTED_CLIENT,
        "test_attribute_error_on_none": outcomes.FAIL,
        "test_setup_error": outcomes.ERROR,
        "test_teardown_error": outcomes.ERROR,
        "test_skips_itself": outcomes.SKIPPED,
        # a fixture that asks the client for what it lacks, as the test body would
        "test_fixture_finds_the_client_lacking": outcomes.UNSUPPORTED_CLIENT,
    }
    assert {name: cases[name].outcome for name in expected} == expected, run.output
    assert cases["test_pass"].properties == {
        "latency_ms": "0.5",
        "latency_target_ms": "1",
        "feature": "f-pass",
        "since": "5.0.0",
        "outcome": "pass",
        # what a rerun in the same cell runs: the file by its absolute path
        "nodeid": f"{tmp_path / 'test_cases.py'}::test_pass",
    }
    assert cases["test_server_too_old"].feature == "f-new"
    assert cases["test_server_too_old"].since == "7.0.0"
    assert cases["test_server_too_old"].reason == (
        "ResponseError: unknown command 'XNEW' (server 6.2.5 < 7.0.0)"
    )
    # unsupported results are pytest skips with "<class>: <reason>"; real failures stay failures
    assert cases["test_server_too_old"].skipped_message == (
        "unsupported-server: " + cases["test_server_too_old"].reason
    )
    assert cases["test_client_lacks_method"].skipped_message.startswith("unsupported-client: ")
    assert cases["test_server_should_have_it"].failed
    assert ">= 6.0.0" in cases["test_server_should_have_it"].reason
    assert cases["test_setup_error"].errored
    assert "fixture could not connect" in cases["test_setup_error"].reason
    assert "cleanup failed" in cases["test_teardown_error"].reason
    assert cases["test_skips_itself"].reason == "not today"
    # a test without a feature mark is classified too (a rerun needs its node id), and names
    # no feature: the report makes it a feature of its own
    assert cases["test_without_feature"].properties == {
        "outcome": "pass",
        "nodeid": f"{tmp_path / 'test_cases.py'}::test_without_feature",
    }
    assert run.proc.returncode == 1
    assert "warning" not in run.output.lower()


def test_only_unsupported_results_exit_zero(tmp_path):
    tests = """
    import pytest

    class ResponseError(Exception):
        pass

    @pytest.mark.feature("new", since="8.2.0")
    def test_new():
        raise ResponseError("unknown command 'XACKDEL'")

    @pytest.mark.feature("ok", since="5.0.0")
    def test_ok():
        pass
    """
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, tests, env=enabled(url))
    assert run.proc.returncode == 0, run.output
    assert run.cases["test_new"].outcome == outcomes.UNSUPPORTED_SERVER
    assert "1 passed, 1 skipped" in run.output


def test_an_expected_failure_says_its_reason_not_its_source(tmp_path):
    tests = """
    import pytest

    @pytest.mark.feature("known", since="5.0.0")
    @pytest.mark.xfail(reason="XSETID rejects this on purpose")
    def test_known():
        assert 1 == 2

    @pytest.mark.feature("imperative", since="5.0.0")
    def test_imperative():
        pytest.xfail("not yet")
    """
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, tests, env=enabled(url))
    assert run.proc.returncode == 0, run.output
    assert run.cases["test_known"].outcome == outcomes.SKIPPED
    assert run.cases["test_known"].reason == "xfail: XSETID rejects this on purpose"
    assert run.cases["test_imperative"].reason == "xfail: not yet"


def test_valkey_is_compared_by_its_redis_version(tmp_path):
    tests = """
    import pytest

    class ResponseError(Exception):
        pass

    @pytest.mark.feature("xread-last-entry", since="7.4.0")
    def test_newer_than_7_2_4():
        raise ResponseError("Invalid stream ID specified as stream command argument")

    @pytest.mark.feature("xautoclaim", since="6.2.0")
    def test_older_than_7_2_4():
        raise ResponseError("unknown command 'XAUTOCLAIM'")
    """
    with info_server(**VALKEY_91) as url:
        run = run_pytest(tmp_path, tests, env=enabled(url))
    assert run.cases["test_newer_than_7_2_4"].outcome == outcomes.UNSUPPORTED_SERVER
    assert "7.2.4 < 7.4.0" in run.cases["test_newer_than_7_2_4"].reason
    assert run.cases["test_older_than_7_2_4"].outcome == outcomes.FAIL
    assert run.suite_properties[outcomes.SUITE_SERVER_NAME] == "valkey"
    assert run.suite_properties[outcomes.SUITE_SERVER_VERSION] == "9.1.2"
    assert run.suite_properties[outcomes.SUITE_SERVER_REDIS_VERSION] == "7.2.4"


def test_testsuite_properties(tmp_path):
    import redis

    cell = {"id": "redis-6.2--redis-7--py3.11", "server": "redis-6.2", "client": "redis-7"}
    cell["python"] = "3.11"
    tests = """
    import pytest

    @pytest.mark.feature("xadd", since="5.0.0")
    def test_one():
        pass
    """
    with info_server(**REDIS_62) as url:
        env = enabled(url, client="redis", STREAMMATRIX_CELL=json.dumps(cell))
        run = run_pytest(tmp_path, tests, env=env)
    assert run.suite_properties == {
        outcomes.SUITE_CELL: "redis-6.2--redis-7--py3.11",
        outcomes.SUITE_CELL_SERVER: "redis-6.2",
        outcomes.SUITE_CELL_CLIENT: "redis-7",
        outcomes.SUITE_CELL_PYTHON: "3.11",
        outcomes.SUITE_SERVER_NAME: "redis",
        outcomes.SUITE_SERVER_VERSION: "6.2.5",
        outcomes.SUITE_SERVER_REDIS_VERSION: "6.2.5",
        outcomes.SUITE_CLIENT_NAME: "redis",
        outcomes.SUITE_CLIENT_VERSION: redis.__version__,
        outcomes.SUITE_PYTHON_VERSION: ".".join(map(str, sys.version_info[:3])),
        # no protocol claimed, and no client among the test's fixtures to measure
        outcomes.SUITE_CELL_RESP: "",
        outcomes.SUITE_CELL_RESP_SOURCE: "",
        outcomes.SUITE_CELL_RESP_CHECKED: "0",
        outcomes.SUITE_CELL_MODE: "",  # the modes the connections said (none here)
    }


def test_by_hand_no_cell_and_no_server_probe_when_disabled(tmp_path):
    tests = """
    import pytest

    class ResponseError(Exception):
        pass

    @pytest.mark.feature("new", since="7.0.0")
    def test_new():
        raise ResponseError("unknown command 'XNEW'")
    """
    # disabled: the server is never asked, so its version is unknown and nothing is excused
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, tests, env={"REDIS_URL": url, "TEST_REDIS_CLIENT": "redis"})
    props = run.suite_properties
    assert not any(k.startswith(("cell", "server.")) for k in props), props
    assert props[outcomes.SUITE_CLIENT_NAME] == "redis"
    assert run.cases["test_new"].outcome == outcomes.FAIL
    assert "server version unknown" in run.cases["test_new"].reason


def test_unreachable_server_classifies_as_failure(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tests = """
    import pytest

    class ResponseError(Exception):
        pass

    @pytest.mark.feature("new", since="7.0.0")
    def test_new():
        raise ResponseError("unknown command 'XNEW'")
    """
    run = run_pytest(tmp_path, tests, env=enabled(f"redis://127.0.0.1:{port}/0"))
    assert run.cases["test_new"].outcome == outcomes.FAIL
    assert not any(k.startswith("server.") for k in run.suite_properties)


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_case_properties_in_both_junit_families(tmp_path, family):
    tests = """
    import pytest

    @pytest.mark.feature("xadd", since="5.0.0")
    def test_one():
        pass
    """
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, tests, env=enabled(url), family=family)
    assert run.cases["test_one"].outcome == outcomes.PASS
    assert run.suite_properties[outcomes.SUITE_SERVER_VERSION] == "6.2.5"


def test_explicit_p_on_top_of_the_entry_point(tmp_path):
    from importlib import metadata

    names = {ep.name for ep in metadata.entry_points(group="pytest11")}
    assert "streammatrix.plugin.pytest_plugin" in names
    tests = """
    import pytest

    @pytest.mark.feature("xadd", since="5.0.0")
    def test_one():
        pass
    """
    with info_server(**REDIS_62) as url:
        run = run_pytest(
            tmp_path, tests, "-p", "streammatrix.plugin.pytest_plugin", env=enabled(url)
        )
    assert run.proc.returncode == 0, run.output
    assert run.cases["test_one"].outcome == outcomes.PASS
    assert "warning" not in run.output.lower()


def test_explicit_p_without_entry_points_as_in_a_cell(tmp_path):
    tests = """
    import pytest

    @pytest.mark.feature("xadd", since="5.0.0")
    def test_one():
        pass
    """
    with info_server(**REDIS_62) as url:
        env = enabled(url, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        args = ("-p", "pytest_asyncio.plugin", "-p", "streammatrix.plugin.pytest_plugin")
        run = run_pytest(tmp_path, tests, *args, env=env)
    assert run.proc.returncode == 0, run.output
    assert run.cases["test_one"].outcome == outcomes.PASS


def test_plugin_imports_only_stdlib_pytest_packaging_and_its_own_package():
    code = (
        "import json, sys, pytest; before = set(sys.modules); "
        "import streammatrix.plugin.pytest_plugin; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(json.loads(out))
    assert loaded - set(sys.stdlib_module_names) <= {"streammatrix", "packaging"}, loaded
    imported: set[str] = set()
    for path in sorted((SRC / "streammatrix" / "plugin").glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
        ours = {name for name in names if name.split(".")[0] == "streammatrix"}
        assert all(name.startswith("streammatrix.plugin") for name in ours), (path.name, ours)
        imported |= {name.split(".")[0] for name in names}
    assert imported - set(sys.stdlib_module_names) == {"pytest", "packaging", "streammatrix"}


def test_every_module_of_the_plugin_is_copied_into_a_cell():
    from streammatrix.run.cell import PLUGIN_FILES

    package = SRC / "streammatrix"
    modules = {str(path.relative_to(package)) for path in (package / "plugin").glob("*.py")}
    assert modules <= set(PLUGIN_FILES), modules - set(PLUGIN_FILES)


def test_the_stream_suite_skips_everything_unless_enabled():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_REDIS", "REDIS_URL", "STREAMMATRIX_CELL"))
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/streams",
            "-q",
            "-rs",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" not in proc.stdout
    assert "set TEST_REDIS_ENABLED=true" in proc.stdout
    assert "warning" not in (proc.stdout + proc.stderr).lower()
