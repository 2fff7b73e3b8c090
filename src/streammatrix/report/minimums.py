"""Minimum versions: per feature, and for the set of required features as a whole.

Only cells that ran (status ok) and whose versions are known take part; versions compare as
PEP 440 versions within one family (Redis and Valkey each have their own line).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from packaging.version import Version

from streammatrix.plugin import outcomes as o
from streammatrix.report.model import Break, Cell, FeatureRow, Minimum
from streammatrix.report.vocabulary import NOT_PASSING, PASSING

DEFINITION = (
    "The minimum supported versions are the pair (S, C): server version S and client version "
    "C such that every cell that ran with a server of that family at version S or newer and a "
    "client at version C or newer passes every required feature (pass, or skipped for a reason "
    "of its own), at least one such cell ran at exactly S and one at exactly C, and S is the "
    "lowest server version for which such a C exists, C the lowest for that S. Other pairs with "
    "an older client but a newer server are listed too. Cells that could not run (error), were "
    "excluded or were skipped do not count; cells that could not run are named beside it. A "
    "required feature that some of those cells measured and another one lacks fails there. "
    "Per feature, the minimum server version (per family) and client version are the lowest "
    "on which the feature passes in some cell; a cell at or above both where it does not pass "
    "is a break above the minimum, and the feature is flagged as non-monotone. A cell below either "
    "minimum where it does not pass is the fact that defines the minimum, never unexpected. A "
    "flaky result (failed, then passed when run again) counts as passing."
)


def _ran(cells: Iterable[Cell]) -> list[Cell]:
    return [c for c in cells if c.status == o.CELL_OK and c.at.server_key and c.at.client_key]


def _lowest(versions: Iterable[Version]) -> str | None:
    found = sorted(set(versions))
    return str(found[0]) if found else None


def feature_minimums(row: FeatureRow, cells: list[Cell]) -> None:
    """Fill ``row.min_server``, ``row.min_client`` and ``row.breaks``."""
    ran = _ran(cells)
    passing = [c for c in ran if (e := row.entries.get(c.id)) and e.measured in PASSING]
    row.min_server = _lowest_by(ran, passing, lambda c: c.at.server_family, _server_key)
    row.min_client = _lowest_by(ran, passing, lambda c: c.at.client_family, _client_key)
    # A break is judged against the cells of its own protocol claim: a client that cannot speak
    # RESP3 is no break above the minimum that its RESP2 cells measured.
    row.min_server_at = low_servers = _lowest_by(
        ran, passing, lambda c: (c.at.server_family, c.at.protocol), _server_key
    )
    row.min_client_at = low_clients = _lowest_by(
        ran, passing, lambda c: (c.at.client_family, c.at.protocol), _client_key
    )
    row.breaks = []
    for cell in ran:
        entry = row.entries.get(cell.id)
        low_server = low_servers.get((cell.at.server_family, cell.at.protocol))
        low_client = low_clients.get((cell.at.client_family, cell.at.protocol))
        if entry is None or entry.measured not in NOT_PASSING or not low_server or not low_client:
            continue
        if cell.at.server_key >= Version(low_server) and cell.at.client_key >= Version(low_client):
            row.breaks.append(Break(cell.id, entry.measured, entry.outcome == o.EXPECTED_FAILURE))


def _server_key(cell: Cell) -> Version | None:
    return cell.at.server_key


def _client_key(cell: Cell) -> Version | None:
    return cell.at.client_key


def _lowest_by(
    ran: list[Cell],
    passing: list[Cell],
    group: Callable[[Cell], Hashable],
    version: Callable[[Cell], Version | None],
) -> dict:
    """Per group of the cells that ran (in sorted order), the lowest version that passes."""
    return {
        key: _lowest(version(c) for c in passing if group(c) == key)
        for key in sorted({group(c) for c in ran})
    }


def _passes(cell: Cell, required: list[FeatureRow]) -> bool:
    """A cell passes the required features: each has a result, and each passed (or skipped)."""
    for row in required:
        entry = row.entries.get(cell.id)
        if entry is None or entry.measured not in (*PASSING, o.SKIPPED):
            return False
    return True


def minimum_pair(
    cells: list[Cell],
    required: list[FeatureRow],
    server_family: str,
    client_family: str,
    protocol: str | None = None,
) -> Minimum:
    """The minimum supported (server, client) versions of one family pair (over one claimed
    protocol, when ``protocol`` is given); see DEFINITION."""
    family = [
        c
        for c in cells
        if c.at.server_family == server_family
        and c.at.client_family == client_family
        and (protocol is None or c.at.protocol == protocol)
    ]
    ran = _ran(family)
    not_counted = [c.id for c in family if c.status == o.CELL_ERROR]
    # A required feature no cell of this family pair measured (e.g. a test only a foreign file
    # holds) says nothing here; one that some cells measured and others lack counts as missing.
    measured = [r for r in required if any(r.entries[c.id].measured is not None for c in ran)]
    ok = {c.id: _passes(c, measured) for c in ran}
    servers = sorted({c.at.server_key for c in ran})
    clients = sorted({c.at.client_key for c in ran})
    pairs: list[tuple[Version, Version, int]] = []
    for s in servers:
        for c in clients:
            region = [x for x in ran if x.at.server_key >= s and x.at.client_key >= c]
            if (
                region
                and all(ok[x.id] for x in region)
                and any(x.at.server_key == s for x in region)
                and any(x.at.client_key == c for x in region)
            ):
                if not pairs or c < pairs[-1][1]:  # a newer server only counts with an older client
                    pairs.append((s, c, len(region)))
                break
    if not pairs:
        return Minimum(
            server_family, client_family, None, None, 0, not_counted=not_counted,
            protocol=protocol or "",
        )  # fmt: skip
    (s, c, n), *others = pairs
    return Minimum(
        server_family,
        client_family,
        str(s),
        str(c),
        n,
        alternatives=[(str(s2), str(c2)) for s2, c2, _ in others],
        not_counted=not_counted,
        protocol=protocol or "",
    )


def minimums(cells: list[Cell], required: list[FeatureRow]) -> list[Minimum]:
    """One :class:`Minimum` per server x client family (x claimed protocol, when the cells claim
    one) that has cells; Redis/redis-py first."""
    order = {"redis": 0, "valkey": 1}
    families = sorted(
        {(c.at.server_family, c.at.client_family, c.at.protocol) for c in _ran(cells)},
        key=lambda f: (order.get(f[0], 9), f[0], order.get(f[1], 9), f[1], f[2]),
    )
    return [minimum_pair(cells, required, s, c, p or None) for s, c, p in families]
