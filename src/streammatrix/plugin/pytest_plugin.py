"""Classify every stream-suite result and write the classes into the JUnit XML.

A test of the suite carries ``@pytest.mark.feature("xautoclaim", since="6.2.0")``. It never skips
because of a version number: it runs, and this plugin decides afterwards what its result means.
In a cell of the runner, a test without the mark is classified the same way (it names no
``since``; the report makes it a feature of its own).

* passed -> ``pass``; a failure while setting up -> ``error``, except that a fixture finding the
  client without what it asks for (a module of the client package, such as ``redis.asyncio`` of
  a redis-py before 4.2; a method of its client, such as ``set_response_callback`` of redis-py
  4.1's cluster client) is ``unsupported-client`` like the same call in the test body;
* a failure of the test body -> the class ``classify.classify_failure`` gives it
  (``unsupported-client``, ``unsupported-server`` or ``fail``).

Unsupported results are reported to pytest as skips ("unsupported-server: <reason>"), so a cell's
exit code is non-zero only for real failures; the class itself goes into the testcase property
``outcome``. Testsuite properties describe the cell, the server (from INFO server) and the client,
and what every connection the suite opened said (``connections``, hooked before the suite's
conftest is imported, with the claimed protocol as the client library's default).

Only the standard library, pytest, packaging and the modules of ``streammatrix.plugin`` may be
imported here: the plugin runs in cell virtualenvs holding just the client, pytest and
pytest-asyncio (``PYTHONPATH=<repo>/src python -m pytest -p streammatrix.plugin.pytest_plugin``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import streammatrix.plugin.protocol as protocol
import streammatrix.plugin.topology as topology
from streammatrix.plugin import connections, outcomes
from streammatrix.plugin.classify import (
    REASON_MAX,
    _client_lacks,
    _short,
    _unwrap,
    classify_failure,
)

# The test running now, which a cell's timeout names: see current.py.
from streammatrix.plugin.current import (  # noqa: F401  (hooks of this plugin)
    pytest_runtest_logfinish,
    pytest_runtest_logstart,
)

# The cell's testsuite properties (a session fixture of this plugin): see properties.py.
from streammatrix.plugin.properties import (  # noqa: F401  (a fixture and hook of this plugin)
    _client_module,
    _enabled,
    _has_features_key,
    _server,
    _server_redis_version,
    _streammatrix_suite_properties,
    active,
    pytest_sessionfinish,
)

MARKER = "feature"

_state_key = pytest.StashKey[dict]()
_tally_key = pytest.StashKey[dict]()
# the conftests and test modules the claim's refusal failed to import: path -> the exception
_refused_key = pytest.StashKey[dict[Path, BaseException]]()


# --------------------------------------------------------------------------------------------
# configuration


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config):
    """Before the suite's conftest imports the client (and perhaps makes one): hook its
    connections and make the claimed protocol its default (see connections.py).

    A conftest that connects while it is imported, with a client or server that refuses the
    claim, cannot be imported: that is the refusal's answer for the suite (``Refused``), not a
    cell that could not start."""
    early_config.stash[_refused_key] = {}
    if _enabled():
        module = _client_module()
        claimed = protocol.claim()
        try:
            connections.reset()
            connections.install(
                module, protocol.options(claimed, connections.takes(module, "protocol"))
            )
        except ImportError:  # no such client: the suite says so itself when it imports it
            pass
    result = yield
    try:
        result.get_result()
    except Exception as exc:  # ConftestImportFailure, caused by what the conftest raised
        if not _refusal(exc):
            raise
        path = Path(str(getattr(exc, "path", "conftest.py")))
        early_config.stash[_refused_key][path] = exc
        result.force_result(None)


def _refusal(exc: BaseException) -> bool:
    """``exc`` is (or was caused by) the client or server refusing the claimed protocol."""
    return _enabled() and protocol.refused(_unwrap(exc), "") is not None


class Refused(pytest.Item):
    """A conftest or test module the claim's refusal failed to import (it connected while it
    was imported): one test that says so (it raises the refusal again, and is classified like
    any test the claim broke)."""

    def runtest(self) -> None:
        raise self.config.stash[_refused_key][self.path]

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, self.name


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """A module the refusal failed to import is no collection error but a ``Refused`` test;
    with the conftest refused, what it left uncollectable (``from conftest import ...``) is no
    error of its own either."""
    result = yield
    report = result.get_result()
    refused = collector.config.stash.get(_refused_key, {})
    if not report.failed or not _enabled():
        return
    call = report.__dict__.get("call")  # pytest keeps it there for pytest_exception_interact
    exc = call.excinfo.value if call is not None and call.excinfo is not None else None
    conftest = any(path.name == "conftest.py" for path in refused)
    if exc is not None and _refusal(exc) and not conftest:
        refused.setdefault(Path(str(getattr(exc, "path", collector.path))), exc)
    elif not conftest:
        return
    report.outcome, report.longrepr = "passed", None


def _refused_items(session: pytest.Session, items: list[pytest.Item]) -> None:
    root = session.config.rootpath
    for path in session.config.stash.get(_refused_key, {}):
        name = os.path.relpath(path, root) if path.is_absolute() else str(path)
        items.append(Refused.from_parent(session, name=name, path=path, nodeid=name))


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
    _refused_items(session, items)
    config.stash[_has_features_key] = any(item.get_closest_marker(MARKER) for item in items)
    if active(config):
        _server(config)  # read the version now, while the server is surely up


def _server_refused() -> str:
    """The runner's measured reason why this cell's server cannot be what the cell claims."""
    return os.environ.get(outcomes.ENV_UNSUPPORTED_SERVER, "").strip()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A feature test of a cell whose server cannot be deployed as claimed: unsupported-server,
    before any fixture (there is no server to connect to)."""
    refused = _server_refused()
    if refused and item.get_closest_marker(MARKER) is not None:
        pytest.skip(f"{outcomes.UNSUPPORTED_SERVER}: {refused}"[:REASON_MAX])


def _feature(item: pytest.Item) -> tuple[str, str] | None:
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return None
    feature = mark.args[0] if mark.args else mark.kwargs.get("id", "")
    since = mark.kwargs.get("since", mark.args[1] if len(mark.args) > 1 else "")
    return str(feature), str(since or "")


def _skip_reason(report: pytest.TestReport) -> str:
    wasxfail = getattr(report, "wasxfail", None)  # an expected failure: its longrepr is the
    if wasxfail is not None:  # traceback (the test's source), its reason is this
        return f"xfail: {wasxfail}" if wasxfail else "xfail"
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
    a set-up (fixture) that found the client without what it asked for."""
    if call.excinfo is None:
        return False
    if call.when == "setup":
        if not _client_lacks(_unwrap(call.excinfo.value)):
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
    if feature is None and not active(item.config):
        yield
        return
    since = feature[1] if feature else ""
    state = item.stash.setdefault(_state_key, {})
    unsupported = None
    refused = _protocol_refused(item, call) if _setup_failure(call) else None
    if refused is not None:  # the client or server cannot speak the claimed protocol
        call.excinfo = _as_skip_excinfo(f"{refused[0]}: {refused[1]}")
    if _classifiable(item, call):
        assert call.excinfo is not None
        outcome, reason = (
            _protocol_refused(item, call)
            or topology.refused(_unwrap(call.excinfo.value), _short(_unwrap(call.excinfo.value)))
            or classify_failure(call.excinfo.value, since, _server_redis_version(item.config))
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
        elif report.skipped and _server_refused():
            state["outcome"] = (outcomes.UNSUPPORTED_SERVER, _server_refused()[:REASON_MAX])
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
        props = [(outcomes.CASE_OUTCOME, outcome), (outcomes.CASE_NODEID, _nodeid(item))]
        if feature:  # a test without the mark names no feature: it is a feature of its own
            props[:0] = [(outcomes.CASE_FEATURE, feature[0]), (outcomes.CASE_SINCE, since)]
        if outcome != outcomes.PASS and reason:
            props.append((outcomes.CASE_REASON, reason))
        report.user_properties.extend(props)
        tally = item.config.stash.get(_tally_key, {})
        tally[outcome] = tally.get(outcome, 0) + 1


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
    return protocol.refused(exc, _short(exc))


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
