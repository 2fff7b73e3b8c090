"""The cell, its server and its client as the plugin sees them, and the testsuite properties.

The cell's coordinates and the server's address come from the environment the runner sets; the
server is probed once per session over RESP (INFO server), the client's distribution is read
from the installed metadata. The session fixture writes them as testsuite properties; what the
suite's connections said (``connections.properties``) is written at the end of the session.

The plugin is at work in a cell of the runner (``STREAMMATRIX_CELL`` is set), whether the suite
uses the feature marks or not, and in any other run of a suite that uses them.

Only the standard library, pytest and the modules of ``streammatrix.plugin`` are imported here
(see ``pytest_plugin``).
"""

from __future__ import annotations

import json
import os
import platform
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest

from streammatrix.plugin import connections, outcomes, protocol, resp

DEFAULT_URL = "redis://localhost:6379/0"
DEFAULT_CLIENT_MODULE = "redis"

_server_key = pytest.StashKey[Optional[dict]]()
_has_features_key = pytest.StashKey[bool]()
_record_key = pytest.StashKey[Any]()  # record_testsuite_property, kept for the session's end


def _enabled() -> bool:
    return os.environ.get(outcomes.ENV_ENABLED, "false").strip().lower() in ("1", "true", "yes")


def _in_cell() -> bool:
    """This pytest is a cell of the runner (which says so in ``STREAMMATRIX_CELL``)."""
    return bool(os.environ.get(outcomes.ENV_CELL, "").strip())


def active(config: pytest.Config) -> bool:
    """The plugin classifies and records: in a cell, or for a suite with feature marks."""
    return _in_cell() or config.stash.get(_has_features_key, False)


def _client_module() -> str:
    return os.environ.get(outcomes.ENV_CLIENT_MODULE, "").strip() or DEFAULT_CLIENT_MODULE


def _server(config: pytest.Config) -> dict | None:
    """INFO server of REDIS_URL, probed once per session; None when disabled or unreachable."""
    if _server_key not in config.stash:
        fields = None
        if _enabled() and not os.environ.get(outcomes.ENV_UNSUPPORTED_SERVER, "").strip():
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
    try:  # the usual case, a distribution named like its module: one look-up, not a scan
        dist = metadata.distribution(top)
        if any(f.parts[:1] in ((top,), (f"{top}.py",)) for f in dist.files or ()):
            return dist.metadata["Name"] or top, dist.version
    except metadata.PackageNotFoundError:
        pass
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
    if not active(config):
        return
    if getattr(config.option, "xmlpath", None) is None:
        return
    record = request.getfixturevalue("record_testsuite_property")
    config.stash[_record_key] = record  # the connections' properties come at the very end
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


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record the claim and what every connection said (before the JUnit file is written)."""
    config = session.config
    record = config.stash.get(_record_key, None)
    if record is None or not _enabled():
        return
    props = connections.properties()
    claimed = protocol.claim()
    if claimed:
        props[outcomes.SUITE_CELL_PROTOCOL] = claimed
    for name, value in props.items():
        record(name, value)
