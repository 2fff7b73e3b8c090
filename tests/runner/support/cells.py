"""Cell files for large matrices, made from one real cell file of a real run.

Every generated cell is the real file with other coordinates and, per test, the outcome a rule
gives (by the test's feature and ``since``, the cell's server and client versions), so the
report reads exactly the format a run writes, at any matrix size.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

from junitparser import Failure, JUnitXml, Properties, Property
from packaging.version import Version

from streammatrix.plugin import outcomes as o
from support import DATA

REAL_CELL = DATA / "real" / "cells" / "redis-6.2--redis-latest--py3.11.xml"
Rule = Callable[[str, str, str, Version, Version], str]  # (feature, since, base, server, client)


def default_rule(feature: str, since: str, base: str, server: Version, client: Version) -> str:
    """Unsupported below ``since``; trim-minid breaks on redis-py 4.2.0-4.3.1 while 4.0.0
    passes (a break above its minimum); xautoclaim fails on redis-py before 4.0 (a fact)."""
    if since and Version(since) > server:
        return o.UNSUPPORTED_SERVER
    if base == o.UNSUPPORTED_CLIENT:
        return base
    if feature == "trim-minid" and Version("4.2.0") <= client <= Version("4.3.1"):
        return o.FAIL
    if feature.startswith("xautoclaim") and client < Version("4.0"):
        return o.FAIL
    return o.PASS


def _set(props: Properties, name: str, value: str) -> None:
    for prop in list(props):
        if prop.name == name:
            props.remove(prop)
    props.append(Property(name, value))


def write_cells(
    target: Path,
    servers: Sequence[tuple[str, str, str]],  # (entry name, family, version)
    clients: Sequence[tuple[str, str]],  # (entry name, version)
    pythons: Sequence[str] = ("3.11",),
    rule: Rule = default_rule,
    protocol: str = "",
    topology: str = "",
) -> list[Path]:
    """One cell file per server x client x python under ``target``; their paths. With a
    ``protocol`` ("2", "3") the cells claim it, measured so, and their ids end in ``--respN``;
    with a ``topology`` likewise (a cluster's ids end in ``--cluster``)."""
    target.mkdir(parents=True, exist_ok=True)
    real = JUnitXml.fromfile(str(REAL_CELL))
    written = []
    for server, family, server_version in servers:
        for client, client_version in clients:
            for python in pythons:
                cell_id = (
                    f"{server}--{client}--py{python}"
                    + (f"--resp{protocol}" if protocol else "")
                    + ("--cluster" if topology == "cluster" else "")
                )
                xml = copy.deepcopy(real)
                suite = next(iter(xml))
                suite.name = cell_id
                values = {
                    o.SUITE_CELL: cell_id,
                    o.SUITE_CELL_SERVER: server,
                    o.SUITE_CELL_CLIENT: client,
                    o.SUITE_CELL_PYTHON: python,
                    o.SUITE_SERVER_NAME: family,
                    o.SUITE_SERVER_VERSION: server_version,
                    o.SUITE_SERVER_REDIS_VERSION: server_version,
                    o.SUITE_CLIENT_VERSION: client_version,
                    o.SUITE_PYTHON_VERSION: f"{python}.7",
                    o.SUITE_CELL_LOG: "",
                    o.SUITE_CELL_PROTOCOL: protocol,
                    o.SUITE_CELL_RESP: protocol,
                }
                if topology:
                    values[o.SUITE_CELL_TOPOLOGY] = values[o.SUITE_CELL_MODE] = topology
                for name, value in values.items():
                    for prop in [p for p in suite.properties() if p.name == name]:
                        suite.remove_property(prop)
                    suite.add_property(name, value)
                for case in suite:
                    props = case.child(Properties)
                    get = {p.name: p.value for p in props}
                    outcome = rule(
                        get.get(o.CASE_FEATURE, ""),
                        get.get(o.CASE_SINCE, ""),
                        get.get(o.CASE_OUTCOME, ""),
                        Version(server_version),
                        Version(client_version),
                    )
                    _set(props, o.CASE_OUTCOME, outcome)
                    if outcome == o.FAIL:
                        case.result = [Failure("AssertionError: generated failure")]
                        _set(props, o.CASE_REASON, "AssertionError: generated failure")
                    elif outcome == o.PASS:
                        case.result = []
                suite.update_statistics()
                path = target / f"{cell_id}.xml"
                xml.write(str(path))
                written.append(path)
    return written
