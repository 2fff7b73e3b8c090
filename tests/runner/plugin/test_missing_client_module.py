"""A client package without a module (redis-py before 4.2 has no ``redis.asyncio``).

Whether the import fails in the test body or in a fixture's set-up, the client lacks the API:
``unsupported-client``. An import of anything else that fails (a dependency, a misspelt module)
is a broken environment and stays ``fail`` in the body and ``error`` in set-up.
"""

from __future__ import annotations

import pytest
from test_plugin import REDIS_62, enabled, info_server, run_pytest

from streammatrix.plugin import outcomes
from streammatrix.plugin.classify import classify_failure


def _raised(statement: str) -> ImportError:
    with pytest.raises(ImportError) as excinfo:
        exec(statement, {})
    return excinfo.value


def test_a_missing_module_of_the_client_package_is_unsupported_client(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_CLIENT", "pytest")  # any importable package stands in
    for statement in (
        "import pytest.no_such_module",
        "from pytest import no_such_name",
        "from _pytest import no_such_name",  # not the package named: see below
    ):
        exc = _raised(statement)
        expected = outcomes.FAIL if "_pytest" in statement else outcomes.UNSUPPORTED_CLIENT
        assert classify_failure(exc, "5.0.0", "8.2.3")[0] == expected, statement


def test_an_import_of_anything_else_is_a_failure(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_CLIENT", "pytest")
    for statement in (
        "import streammatrix_no_such_dependency",  # what a client's own import may miss
        "import pytest_no_such_plugin.sub",
    ):
        exc = _raised(statement)
        assert classify_failure(exc, "5.0.0", "8.2.3")[0] == outcomes.FAIL, statement
    # the client package itself missing is no version of it at all
    monkeypatch.setenv("TEST_REDIS_CLIENT", "streammatrix_no_such_client")
    exc = _raised("import streammatrix_no_such_client")
    assert classify_failure(exc, "5.0.0", "8.2.3")[0] == outcomes.FAIL
    # only the message to go by (an ImportError raised by hand)
    bare = ImportError("no asyncio")
    assert classify_failure(bare, "5.0.0", "8.2.3")[0] == outcomes.FAIL


IN_SETUP = """
import importlib

import pytest
import pytest_asyncio
import fakeclient


@pytest.fixture
def sync_asyncio():
    return importlib.import_module("fakeclient.asyncio")


@pytest_asyncio.fixture
async def async_client():
    # the shape of the stream suite's async fixture: the import happens inside it
    yield importlib.import_module("fakeclient.asyncio").from_url("redis://x")


@pytest.fixture
def from_client_package():
    from fakeclient import asyncio  # noqa: F401


@pytest.fixture
def broken_dependency():
    import streammatrix_no_such_dependency  # noqa: F401


@pytest.mark.feature("f-sync-fixture", since="5.0.0")
def test_sync_fixture(sync_asyncio):
    pass


@pytest.mark.asyncio
@pytest.mark.feature("f-async-fixture", since="5.0.0")
async def test_async_fixture(async_client):
    pass


@pytest.mark.feature("f-from-import", since="5.0.0")
def test_from_import_in_fixture(from_client_package):
    pass


@pytest.mark.feature("f-dependency", since="5.0.0")
def test_dependency_in_fixture(broken_dependency):
    pass


@pytest.mark.feature("f-body-dependency", since="5.0.0")
def test_dependency_in_body():
    import streammatrix_no_such_dependency  # noqa: F401


@pytest.mark.feature("f-body", since="5.0.0")
def test_client_module_in_body():
    import fakeclient.asyncio  # noqa: F401
"""


def test_a_fixture_that_cannot_import_the_client_module_is_unsupported_client(tmp_path):
    with info_server(**REDIS_62) as url:
        run = run_pytest(tmp_path, IN_SETUP, env=enabled(url))
    cases = run.cases
    expected = {
        "test_sync_fixture": outcomes.UNSUPPORTED_CLIENT,
        "test_async_fixture": outcomes.UNSUPPORTED_CLIENT,
        "test_from_import_in_fixture": outcomes.UNSUPPORTED_CLIENT,
        "test_client_module_in_body": outcomes.UNSUPPORTED_CLIENT,
        "test_dependency_in_fixture": outcomes.ERROR,
        "test_dependency_in_body": outcomes.FAIL,
    }
    assert {name: cases[name].outcome for name in expected} == expected, run.output
    for name in ("test_sync_fixture", "test_async_fixture"):
        assert cases[name].reason == (
            "ModuleNotFoundError: No module named 'fakeclient.asyncio'"
        ), name
        # a JUnit skip like every unsupported result, not an error
        assert cases[name].skipped_message == "unsupported-client: " + cases[name].reason
        assert not cases[name].errored
    assert cases["test_dependency_in_fixture"].errored
    assert "streammatrix_no_such_dependency" in cases["test_dependency_in_fixture"].reason
    assert cases["test_dependency_in_body"].failed
    assert run.proc.returncode == 1  # the broken dependency, and only it
    assert "4 skipped" in run.output, run.output
