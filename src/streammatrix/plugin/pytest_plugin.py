"""Classify every stream-suite result and write the classes into the JUnit XML.

A test of the suite carries ``@pytest.mark.feature("xautoclaim", since="6.2.0")``. It never skips
because of a version number: it runs, and this plugin decides afterwards what its result means.

* passed -> ``pass``; a failure while setting up -> ``error``, except that a fixture failing
  to import a module of the client package (``redis.asyncio`` of a redis-py before 4.2) is
  ``unsupported-client`` like the same import in the test body;
* the client lacks the API (missing method on the client, its pipeline or module; unexpected
  keyword argument; a module of the client package that does not exist) ->
  ``unsupported-client``; an import of anything else that fails is a ``fail`` (``error`` in
  set-up), since it is the environment that is broken, not the client that is older;
* the server rejects the command (a ``ResponseError`` saying unknown command, syntax error, ...)
  or leaves a field out of its reply (``KeyError``) -> ``unsupported-server`` when the server's
  ``redis_version`` is below ``since``, ``fail`` otherwise;
* anything else -> ``fail``.

Unsupported results are reported to pytest as skips ("unsupported-server: <reason>"), so a cell's
exit code is non-zero only for real failures; the class itself goes into the testcase property
``outcome``. Testsuite properties describe the cell, the server (from INFO server) and the client.

Only the standard library, pytest, packaging and the modules of ``streammatrix.plugin`` may be
imported here: the plugin runs in cell virtualenvs holding just the client, pytest and
pytest-asyncio (``PYTHONPATH=<repo>/src python -m pytest -p streammatrix.plugin.pytest_plugin``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import types
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest
from packaging.version import InvalidVersion, Version

import streammatrix.plugin.protocol as protocol
from streammatrix.plugin import outcomes, resp

# The protocol's proof (measured per test, recorded at the end of the session): see protocol.py.
from streammatrix.plugin.protocol import (  # noqa: F401  (hooks of this plugin)
    pytest_runtest_teardown,
    pytest_sessionfinish,
)

MARKER = "feature"
DEFAULT_URL = "redis://localhost:6379/0"
DEFAULT_CLIENT_MODULE = "redis"
REASON_MAX = 200

# What servers older than a feature answer when they meet it (each one seen on a real server):
# 6.0 "unknown command `XAUTOCLAIM`", "syntax error" (XTRIM MINID, XPENDING IDLE), "Invalid stream
# ID specified as stream command argument" (XADD NOMKSTREAM, XREAD +), 6.2 "Unknown subcommand or
# wrong number of arguments for 'CREATE'" (XGROUP CREATE ENTRIESREAD), "wrong number of arguments
# for 'xsetid' command" (XSETID ENTRIESADDED).
_REJECTED = re.compile(
    r"unknown command"
    r"|unknown (?:\w+ )?subcommand"
    r"|syntax error"
    r"|unrecognized option"
    r"|unknown option"
    r"|wrong number of arguments"
    r"|invalid stream id",
    re.IGNORECASE,
)
# "unknown command 'XACKDEL', with args beginning with: 'key' 'group' ..." -> keep the command
_ARGS_ECHO = re.compile(r",? *with args beginning with:.*$")
_UNEXPECTED_KEYWORD = re.compile(r"unexpected keyword argument")
_MODULE_ATTR = re.compile(r"module '([\w.]+)' has no attribute")
_OBJECT_ATTR = re.compile(r"'(\w+)' object has no attribute")
# "No module named 'redis.asyncio'", "cannot import name 'asyncio' from 'redis' (...)"
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '\w+' from '([\w.]+)'")

_server_key = pytest.StashKey[Optional[dict]]()
_state_key = pytest.StashKey[dict]()
_has_features_key = pytest.StashKey[bool]()
_tally_key = pytest.StashKey[dict]()


# --------------------------------------------------------------------------------------------
# configuration


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "feature(id, since=None): the feature a test exercises and the first Redis version "
        "documented to have it; the streammatrix plugin classifies the result against it",
    )
    config.stash[_tally_key] = {}


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    has_features = any(item.get_closest_marker(MARKER) for item in items)
    config.stash[_has_features_key] = has_features
    if has_features:
        _server(config)  # read the version now, while the server is surely up
        if _enabled():
            config.stash[protocol.TALLY] = protocol.Tally()


def _enabled() -> bool:
    return os.environ.get(outcomes.ENV_ENABLED, "false").strip().lower() in ("1", "true", "yes")


def _client_module() -> str:
    return os.environ.get(outcomes.ENV_CLIENT_MODULE, "").strip() or DEFAULT_CLIENT_MODULE


# --------------------------------------------------------------------------------------------
# the server and the client


def _server(config: pytest.Config) -> dict | None:
    """INFO server of REDIS_URL, probed once per session; None when disabled or unreachable."""
    if _server_key not in config.stash:
        fields = None
        if _enabled():
            url = urlsplit(os.environ.get(outcomes.ENV_URL, "") or DEFAULT_URL)
            if url.scheme in ("redis", "valkey", ""):  # plain TCP only: resp speaks no TLS
                try:
                    fields = resp.info(url.hostname or "localhost", url.port or 6379)
                except (OSError, ValueError):
                    fields = None
        config.stash[_server_key] = fields
    return config.stash[_server_key]


def _server_redis_version(config: pytest.Config) -> str | None:
    fields = _server(config)
    if not fields:
        return None
    return resp.server_identity(fields)[2] or None


def _client_distribution(module: str) -> tuple[str, str]:
    """(distribution name, version) of the installed package that provides ``module``."""
    from importlib import metadata

    top = module.split(".")[0]
    names: list[str] = []
    packages = getattr(metadata, "packages_distributions", None)  # Python 3.10+
    if packages is not None:
        try:
            names = list(packages().get(top, []))
        except Exception:
            names = []
    for name in [*names, top]:
        try:
            return metadata.metadata(name)["Name"] or name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return top, ""


def _cell() -> dict[str, str]:
    raw = os.environ.get(outcomes.ENV_CELL, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@pytest.fixture(scope="session", autouse=True)
def _streammatrix_suite_properties(request: pytest.FixtureRequest) -> None:
    """Write the cell/server/client/python testsuite properties (only with --junitxml)."""
    config = request.config
    if not config.stash.get(_has_features_key, False):
        return
    if getattr(config.option, "xmlpath", None) is None:
        return
    record = request.getfixturevalue("record_testsuite_property")
    config.stash[protocol.RECORD] = record  # the protocol's properties come at the very end
    cell = _cell()
    for name, key in (
        (outcomes.SUITE_CELL, "id"),
        (outcomes.SUITE_CELL_SERVER, "server"),
        (outcomes.SUITE_CELL_CLIENT, "client"),
        (outcomes.SUITE_CELL_PYTHON, "python"),
    ):
        if cell.get(key) not in (None, ""):
            record(name, str(cell[key]))
    fields = _server(config)
    if fields:
        name, version, redis_version = resp.server_identity(fields)
        record(outcomes.SUITE_SERVER_NAME, name)
        record(outcomes.SUITE_SERVER_VERSION, version)
        record(outcomes.SUITE_SERVER_REDIS_VERSION, redis_version)
    dist, version = _client_distribution(_client_module())
    record(outcomes.SUITE_CLIENT_NAME, dist)
    record(outcomes.SUITE_CLIENT_VERSION, version)
    record(outcomes.SUITE_PYTHON_VERSION, platform.python_version())


# --------------------------------------------------------------------------------------------
# classification


def _older(version: str, since: str) -> bool | None:
    """``version < since`` as PEP 440 versions (the runner's comparator too); None: not versions."""
    try:
        return Version(version) < Version(since)
    except InvalidVersion:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = _ARGS_ECHO.sub("", text[0]) if text else ""
    out = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return out if len(out) <= REASON_MAX else out[: REASON_MAX - 3] + "..."


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception inside an exception group of one (asyncio.TaskGroup and the like)."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if isinstance(inner, (list, tuple)) and len(inner) == 1:
            exc = inner[0]
        else:
            return exc


def _belongs_to_client(obj: Any, package: str) -> bool:
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        cls = obj if isinstance(obj, type) else type(obj)
        name = getattr(cls, "__module__", "") or ""
    return name == package or name.startswith(package + ".")


def _client_class_named(name: str, package: str) -> bool:
    for modname, module in list(sys.modules.items()):
        if module is None or not (modname == package or modname.startswith(package + ".")):
            continue
        candidate = getattr(module, name, None)
        if isinstance(candidate, type):
            return True
    return False


def _client_lacks(exc: BaseException) -> bool:
    """The client (module, client object, pipeline) does not have what the test asked for."""
    if isinstance(exc, ImportError):
        return _client_module_missing(exc)
    if isinstance(exc, TypeError):
        return bool(_UNEXPECTED_KEYWORD.search(str(exc)))
    if not isinstance(exc, AttributeError):
        return False
    package = _client_module().split(".")[0]
    obj = getattr(exc, "obj", None)  # Python 3.10+
    if obj is not None:
        return _belongs_to_client(obj, package)
    message = str(exc)
    m = _MODULE_ATTR.search(message)
    if m:
        return m.group(1) == package or m.group(1).startswith(package + ".")
    m = _OBJECT_ATTR.search(message)
    return bool(m) and m.group(1) != "NoneType" and _client_class_named(m.group(1), package)


def _client_module_missing(exc: ImportError) -> bool:
    """The import failed because the client package has no such module (or name in it).

    ``No module named 'redis.asyncio'``: a submodule of the client package is missing, the client
    is older than the API. ``cannot import name 'x' from 'redis'``: the client package lacks a
    name. A missing top-level client package, or a module outside it (a dependency the client
    imports), is a broken environment and not the client's version: False.
    """
    package = _client_module().split(".")[0]
    message = str(exc)
    if isinstance(exc, ModuleNotFoundError) or _NO_MODULE.search(message):
        m = _NO_MODULE.search(message)
        missing = exc.name or (m.group(1) if m else "")
        return missing.startswith(package + ".")
    m = _CANNOT_IMPORT.search(message)
    source = m.group(1) if m else (exc.name or "")
    return source == package or source.startswith(package + ".")


def _server_rejects(exc: BaseException) -> bool:
    """The server refused the command as one it does not know, or left a reply field out."""
    if isinstance(exc, KeyError):
        return True
    is_response_error = any(cls.__name__ == "ResponseError" for cls in type(exc).__mro__)
    return is_response_error and bool(_REJECTED.search(str(exc)))


def classify_failure(
    exc: BaseException, since: str | None, server_version: str | None
) -> tuple[str, str]:
    """(outcome, reason) for an exception raised by a test body."""
    exc = _unwrap(exc)
    reason = _short(exc)
    if _client_lacks(exc):
        return outcomes.UNSUPPORTED_CLIENT, reason
    if _server_rejects(exc):
        if not since:
            return outcomes.FAIL, f"{reason} (the test names no 'since' version)"
        if not server_version:
            return outcomes.FAIL, f"{reason} (server version unknown; needs {since})"
        older = _older(server_version, since)
        if older is None:
            return (
                outcomes.FAIL,
                f"{reason} (versions {server_version!r}, {since!r} not comparable)",
            )
        if older:
            return outcomes.UNSUPPORTED_SERVER, f"{reason} (server {server_version} < {since})"
        return outcomes.FAIL, f"{reason} (server {server_version} >= {since})"
    return outcomes.FAIL, reason


def _feature(item: pytest.Item) -> tuple[str, str] | None:
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return None
    feature = mark.args[0] if mark.args else mark.kwargs.get("id", "")
    since = mark.kwargs.get("since", mark.args[1] if len(mark.args) > 1 else "")
    return str(feature), str(since or "")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
        return text[len("Skipped: ") :] if text.startswith("Skipped: ") else text
    return str(longrepr or "")


def _as_skip(report: pytest.TestReport, item: pytest.Item, message: str) -> None:
    path, lineno, _ = item.reportinfo()
    report.outcome = "skipped"
    report.longrepr = (str(path), (lineno or 0) + 1, message)


def _classifiable(item: pytest.Item, call: pytest.CallInfo) -> bool:
    """A failure that is ours to classify (not a skip, xfail or exit): one of the test body, or
    a set-up (fixture) that could not import a module of the client package."""
    if call.excinfo is None:
        return False
    if call.when == "setup":
        exc = _unwrap(call.excinfo.value)
        if not (isinstance(exc, ImportError) and _client_module_missing(exc)):
            return False
    elif call.when != "call":
        return False
    if item.get_closest_marker("xfail") is not None:
        return False
    return not isinstance(
        call.excinfo.value,
        (pytest.skip.Exception, pytest.xfail.Exception, pytest.exit.Exception, KeyboardInterrupt),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    feature = _feature(item)
    if feature is None:
        yield
        return
    state = item.stash.setdefault(_state_key, {})
    unsupported = None
    refused = _protocol_refused(item, call) if _setup_failure(call) else None
    if refused is not None:  # the client or server cannot speak the claimed protocol
        call.excinfo = _as_skip_excinfo(f"{refused[0]}: {refused[1]}")
    if _classifiable(item, call):
        assert call.excinfo is not None
        outcome, reason = _protocol_refused(item, call) or classify_failure(
            call.excinfo.value, feature[1], _server_redis_version(item.config)
        )
        state["outcome"] = (outcome, reason)
        if outcome in (outcomes.UNSUPPORTED_SERVER, outcomes.UNSUPPORTED_CLIENT):
            # Report it as a skip. Swapping the exception before pytest builds the report also
            # spares formatting a long traceback (source of every frame) for a known answer.
            unsupported = f"{outcome}: {reason}"
            try:
                pytest.skip(unsupported)
            except pytest.skip.Exception:
                call.excinfo = pytest.ExceptionInfo.from_current()
    result = yield
    report: pytest.TestReport = result.get_result()
    if report.when == "setup":
        if refused is not None:
            state["outcome"] = refused
            _as_skip(report, item, f"{refused[0]}: {refused[1]}")
        elif unsupported is not None:
            _as_skip(report, item, unsupported)
        elif report.failed:
            state["outcome"] = (outcomes.ERROR, _reason_of(call, report))
        elif report.skipped:
            state["outcome"] = (outcomes.SKIPPED, _skip_reason(report))
    elif report.when == "call":
        if unsupported is not None:
            _as_skip(report, item, unsupported)
        elif report.passed:
            state["outcome"] = (outcomes.PASS, "")
        elif report.skipped:
            state["outcome"] = (outcomes.SKIPPED, _skip_reason(report))
        elif "outcome" not in state:
            state["outcome"] = (outcomes.FAIL, _reason_of(call, report))
    elif report.when == "teardown":
        outcome, reason = state.get("outcome", (outcomes.ERROR, "the test did not run"))
        if report.failed and outcome == outcomes.PASS:
            outcome, reason = outcomes.ERROR, "teardown: " + _reason_of(call, report)
        props = [
            (outcomes.CASE_FEATURE, feature[0]),
            (outcomes.CASE_SINCE, feature[1]),
            (outcomes.CASE_OUTCOME, outcome),
            (outcomes.CASE_NODEID, _nodeid(item)),
        ]
        if outcome != outcomes.PASS and reason:
            props.append((outcomes.CASE_REASON, reason))
        report.user_properties.extend(props)
        tally = item.config.stash.get(_tally_key, {})
        tally[outcome] = tally.get(outcome, 0) + 1
        if protocol.TALLY in item.config.stash:
            item.config.stash[protocol.TALLY].passed += outcome == outcomes.PASS


def _setup_failure(call: pytest.CallInfo) -> bool:
    return (
        call.when == "setup"
        and call.excinfo is not None
        and not isinstance(call.excinfo.value, (pytest.skip.Exception, pytest.exit.Exception))
    )


def _as_skip_excinfo(message: str) -> pytest.ExceptionInfo:
    """A skip in place of a known failure, before pytest formats its (long) traceback."""
    try:
        pytest.skip(message)
    except pytest.skip.Exception:
        return pytest.ExceptionInfo.from_current()
    raise AssertionError("unreachable")


def _protocol_refused(item: pytest.Item, call: pytest.CallInfo) -> tuple[str, str] | None:
    """The claimed protocol refused by the client or the server (see protocol.refused)."""
    if call.excinfo is None:
        return None
    exc = _unwrap(call.excinfo.value)
    found = protocol.refused(exc, _short(exc))
    if found is not None and protocol.TALLY in item.config.stash:
        item.config.stash[protocol.TALLY].refused += 1
    return found


def _nodeid(item: pytest.Item) -> str:
    """The node id with the file as an absolute path, so any later pytest can run it again."""
    _, _, rest = item.nodeid.partition("::")
    return f"{item.path}::{rest}" if rest else str(item.path)


def _reason_of(call: pytest.CallInfo, report: pytest.TestReport) -> str:
    if call.excinfo is not None:
        return _short(_unwrap(call.excinfo.value))
    text = str(report.longrepr or "").strip().splitlines()
    return (text[-1] if text else "")[:REASON_MAX]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    tally = config.stash.get(_tally_key, {})
    if not tally:
        return
    order = [o for o in outcomes.TEST_OUTCOMES if o in tally]
    counts = ", ".join(f"{tally[o]} {o}" for o in order)
    terminalreporter.write_line(f"streammatrix outcomes: {counts}")
