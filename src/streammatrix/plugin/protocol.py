"""The wire protocol of a cell: what it claims, what the suite's connections speak, and what a
refusal of the protocol means.

The claim is ``TEST_REDIS_PROTOCOL`` ("2", "3" or "3-unified"), the same variable the suite reads
to build its clients. The proof is measured, never assumed: after each test, every synchronous
client among the test's fixtures is asked, on a connection of its own pool, which protocol that
connection speaks:

* ``CLIENT INFO`` and its ``resp=`` field (Redis 7.0 and later);
* else ``HELLO`` without arguments, which answers the connection's ``proto`` without changing it
  (Redis 6.2);
* else the wire type of a reply that RESP3 sends as a map (``CONFIG GET port``): a map means
  RESP3, an array RESP2 (Redis 6.0 has neither of the above).

A cell whose connections spoke another protocol than it claims is an error (the testsuite
property ``cell.resp.error``); so is a claim that passed tests without one measurement. A client
that rejects the protocol option (``protocol=``, ``legacy_responses=``) makes the tests it broke
``unsupported-client``; a server that rejects ``HELLO 3`` makes them ``unsupported-server``.

Only the standard library and pytest are imported here (see ``pytest_plugin``).
"""

from __future__ import annotations

import inspect
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from streammatrix.plugin import outcomes

CLAIMS = {"2": 2, "3": 3, "3-unified": 3}
_RESP_FIELD = re.compile(r"(?:^|\s)resp=(\d)")
_OPTION_REJECTED = re.compile(r"unexpected keyword argument '(protocol|legacy_responses)'")
_HELLO_REJECTED = re.compile(r"unknown command .?hello|noproto|unsupported protocol", re.I)

RECORD = pytest.StashKey[Any]()  # record_testsuite_property, kept for the end of the session
TALLY = pytest.StashKey["Tally"]()


def claim() -> str:
    """The protocol this run claims ("" when none: the client's default)."""
    return os.environ.get(outcomes.ENV_PROTOCOL, "").strip()


@dataclass
class Tally:
    """What the session measured: one resp per client per test, and refusals of the claim."""

    resp: Counter[int] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    passed: int = 0

    def properties(self, claimed: str) -> dict[str, str]:
        props = {
            outcomes.SUITE_CELL_RESP: " ".join(str(r) for r in sorted(self.resp)),
            outcomes.SUITE_CELL_RESP_SOURCE: ", ".join(sorted(self.sources)),
            outcomes.SUITE_CELL_RESP_CHECKED: str(sum(self.resp.values())),
        }
        if claimed:
            props[outcomes.SUITE_CELL_PROTOCOL] = claimed
        error = verdict(claimed, self)
        if error:
            props[outcomes.SUITE_CELL_RESP_ERROR] = error
        return props


def verdict(claimed: str, tally: Tally) -> str:
    """Why the claim does not hold ("" when it does, or when nothing was claimed)."""
    if not claimed:
        return ""
    wanted = CLAIMS.get(claimed)
    if wanted is None:
        return f"{outcomes.ENV_PROTOCOL}={claimed!r} is not one of {', '.join(CLAIMS)}"
    other = {r: n for r, n in tally.resp.items() if r != wanted}
    if other:
        spoke = ", ".join(f"RESP{r} ({n} of {sum(tally.resp.values())})" for r, n in other.items())
        how = ", ".join(sorted(tally.sources))
        return f"claims RESP{claimed} but the suite's connections spoke {spoke} ({how})"
    if not tally.resp and not tally.refused and tally.passed:
        return (
            f"claims RESP{claimed} but no connection of the suite was measured "
            f"({tally.passed} test(s) passed without proof of the protocol)"
        )
    return ""


def refused(exc: BaseException, reason: str) -> tuple[str, str] | None:
    """(outcome, reason) when ``exc`` is the client or server refusing the claimed protocol."""
    claimed = claim()
    if not claimed:
        return None
    if isinstance(exc, TypeError) and _OPTION_REJECTED.search(str(exc)):
        return outcomes.UNSUPPORTED_CLIENT, f"{reason} (the client cannot speak RESP{claimed})"
    is_response_error = any(cls.__name__ == "ResponseError" for cls in type(exc).__mro__)
    if is_response_error and _HELLO_REJECTED.search(str(exc)):
        return outcomes.UNSUPPORTED_SERVER, f"{reason} (the server cannot speak RESP{claimed})"
    return None


# --------------------------------------------------------------------------------------------
# measuring one client


def is_sync_client(value: Any) -> bool:
    execute = getattr(value, "execute_command", None)
    return (
        not isinstance(value, type)
        and getattr(value, "connection_pool", None) is not None
        and callable(execute)
        and not inspect.iscoroutinefunction(execute)
    )


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    return reply if isinstance(reply, str) else ""


def _proto(reply: Any) -> int | None:
    if isinstance(reply, dict):
        pairs = list(reply.items())
    elif isinstance(reply, (list, tuple)):
        pairs = list(zip(reply[::2], reply[1::2]))
    else:
        return None
    for key, value in pairs:
        if _text(key) == "proto":
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def _ask(conn: Any, *command: str) -> Any:
    """The reply to ``command`` on ``conn`` as the parser gives it (no callbacks); None for an
    error reply (the server does not know the command)."""
    conn.send_command(*command)
    try:
        return conn.read_response()
    except Exception as exc:
        if any(cls.__name__ == "ResponseError" for cls in type(exc).__mro__):
            return None
        raise


def ask_connection(conn: Any) -> tuple[int, str] | None:
    """(resp, how it was measured) of one connection."""
    found = _RESP_FIELD.search(_text(_ask(conn, "CLIENT", "INFO")))
    if found:
        return int(found.group(1)), "CLIENT INFO"
    proto = _proto(_ask(conn, "HELLO"))
    if proto:
        return proto, "HELLO"
    reply = _ask(conn, "CONFIG", "GET", "port")
    if isinstance(reply, dict):
        return 3, "reply type"
    if isinstance(reply, (list, tuple)):
        return 2, "reply type"
    return None


def measure(client: Any) -> tuple[int, str] | None:
    """(resp, how) of a connection of ``client``'s own pool; None when it cannot be asked."""
    pool = client.connection_pool
    try:
        conn = pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name
        conn = pool.get_connection("PING")
    try:
        return ask_connection(conn)
    finally:
        pool.release(conn)


# --------------------------------------------------------------------------------------------
# hooks (imported into pytest_plugin, which is what a cell loads)


def _active(config: pytest.Config) -> bool:
    return TALLY in config.stash


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """Before the test's fixtures close: ask each synchronous client the test used."""
    if _active(item.config) and item.get_closest_marker("feature") is not None:
        tally = item.config.stash[TALLY]
        seen: set[int] = set()
        for value in list(getattr(item, "funcargs", {}).values()):
            if id(value) in seen or not is_sync_client(value):
                continue
            seen.add(id(value))
            try:
                found = measure(value)
            except Exception:  # a client the test closed or broke: not a measurement
                found = None
            if found is not None:
                tally.resp[found[0]] += 1
                tally.sources[found[1]] += 1
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record the claim and the measurements (before the JUnit file is written)."""
    config = session.config
    if not _active(config):
        return
    props = config.stash[TALLY].properties(claim())
    record = config.stash.get(RECORD, None)
    if record is not None:
        for name, value in props.items():
            record(name, value)
    error = props.get(outcomes.SUITE_CELL_RESP_ERROR)
    if error:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"streammatrix: protocol error: {error}", red=True)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
