"""Minimum versions: per feature, and for the set of required features as a whole.

Only cells that ran (status ok) and whose versions are known take part; versions compare as
PEP 440 versions within one family (Redis and Valkey each have their own line).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable

from packaging.version import Version

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Blocker, Break, Cell, FeatureRow, Minimum
from streammatrix.report.analysis.vocabulary import (
    BOUND_BOTH_LACK,
    BOUND_CLIENT_LACKS,
    BOUND_FAILS,
    BOUND_FAILS_WHERE_RUNS,
    BOUND_LOWEST_TESTED,
    BOUND_NOT_MEASURED,
    BOUND_SERVER_LACKS,
    NOT_PASSING,
    PASSING,
)

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
    # A break is judged against the cells of its own protocol and topology claims: a client that
    # cannot speak RESP3 (or talk to a cluster) is no break above the minimum that its RESP2
    # (standalone) cells measured.
    row.min_server_at = low_servers = _lowest_by(
        ran, passing, lambda c: (c.at.server_family, *c.at.variant), _server_key
    )
    row.min_client_at = low_clients = _lowest_by(
        ran, passing, lambda c: (c.at.client_family, *c.at.variant), _client_key
    )
    row.breaks = []
    for cell in ran:
        entry = row.entries.get(cell.id)
        low_server = low_servers.get((cell.at.server_family, *cell.at.variant))
        low_client = low_clients.get((cell.at.client_family, *cell.at.variant))
        if entry is None or entry.measured not in NOT_PASSING or not low_server or not low_client:
            continue
        if cell.at.server_key >= Version(low_server) and cell.at.client_key >= Version(low_client):
            row.breaks.append(Break(cell.id, entry.measured, entry.outcome == o.EXPECTED_FAILURE))
    row.bounds = bounds(row, ran)


def bounds(row: FeatureRow, ran: list[Cell]) -> dict[tuple[str, str, str, str], str]:
    """What bounds each of ``row``'s minimums, per (side, family, protocol claim, topology
    claim; "" = over every one): the lowest version that ran at all ("lowest tested": the true
    minimum may be older), or, where none passes, what the cells measured ("client lacks it",
    ...)."""
    out: dict[tuple[str, str, str, str], str] = {}
    for side, lows, lows_at in (
        ("server", row.min_server, row.min_server_at),
        ("client", row.min_client, row.min_client_at),
    ):
        family_of = (lambda c: c.at.server_family) if side == "server" else (
            lambda c: c.at.client_family)  # fmt: skip
        version_of = _server_key if side == "server" else _client_key
        for key, low in [*(((f, "", ""), v) for f, v in lows.items()), *lows_at.items()]:
            family, protocol, topology = key
            cells = [c for c in ran if family_of(c) == family
                     and (not protocol or c.at.protocol == protocol)
                     and (not topology or c.at.topology == topology)]  # fmt: skip
            if low is not None:
                lowest = min(version_of(c) for c in cells) if cells else None
                out[(side, *key)] = (
                    BOUND_LOWEST_TESTED if lowest is not None and Version(low) == lowest else ""
                )
                continue
            measured = {row.entries[c.id].measured for c in cells if c.id in row.entries}
            measured.discard(None)
            out[(side, *key)] = _why_none(measured)
    return out


def _why_none(measured: set[str | None]) -> str:
    """Why no cell passes, from what they measured."""
    if not measured:
        return BOUND_NOT_MEASURED
    if measured <= {o.UNSUPPORTED_CLIENT, o.SKIPPED}:
        return BOUND_CLIENT_LACKS
    if measured <= {o.UNSUPPORTED_SERVER, o.SKIPPED}:
        return BOUND_SERVER_LACKS
    if measured <= {o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT, o.SKIPPED}:
        return BOUND_BOTH_LACK
    if measured & {o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT}:
        return BOUND_FAILS_WHERE_RUNS
    return BOUND_FAILS


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
    topology: str | None = None,
) -> Minimum:
    """The minimum supported (server, client) versions of one family pair (over one claimed
    protocol, when ``protocol`` is given); see DEFINITION."""
    family = [
        c
        for c in cells
        if c.at.server_family == server_family
        and c.at.client_family == client_family
        and (protocol is None or c.at.protocol == protocol)
        and (topology is None or c.at.topology == topology)
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
            protocol=protocol or "", topology=topology or "",
            blocker=blocker(ran, measured, cells),
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
        server_lowest_tested=s == servers[0],
        client_lowest_tested=c == clients[0],
        topology=topology or "",
    )


_FAILING = (o.FAIL, o.ERROR)
_LACKING = (o.UNSUPPORTED_CLIENT, o.UNSUPPORTED_SERVER)


def blocker(ran: list[Cell], required: list[FeatureRow], everything: list[Cell]) -> Blocker | None:
    """What keeps every cell of ``ran`` (one family pair and protocol) from passing: the
    required features that fail there (else those it lacks), from the data alone."""
    if not ran:
        return None
    for kinds in (_FAILING, _LACKING):
        hits = {
            row.feature: [c for c in ran if (e := row.entries.get(c.id)) and e.measured in kinds]
            for row in required
        }
        hits = {f: cells for f, cells in hits.items() if cells}
        if hits:
            break
    else:
        return None
    features = sorted(hits, key=lambda f: (-len(hits[f]), len(f), f))
    failing = {c.id for cells in hits.values() for c in cells}
    outcome = Counter(
        row.entries[cid].measured for row in required if row.feature in hits for cid in failing
        if row.entries[cid].measured in kinds
    ).most_common(1)[0][0]  # fmt: skip
    lines = Counter(
        _first_line(t.message or t.reason)
        for row in required if row.feature in hits
        for c in hits[row.feature] for t in row.entries[c.id].tests if t.outcome in kinds
    )  # fmt: skip
    message, count = lines.most_common(1)[0] if lines else ("", 0)
    if count * 2 < sum(lines.values()):
        message = ""  # no message most share
    versions_failing = sorted({c.at.client_key for c in ran if c.id in failing})
    low, high = versions_failing[0], versions_failing[-1]
    every = all(c.id in failing for c in ran if c.at.client_key >= low)
    protocol = ran[0].at.protocol
    # another protocol passes where it passes with the parsers that fail here
    parsers = {c.record.parser for c in ran if c.id in failing}
    others = sorted(
        {
            c.at.protocol
            for c in everything
            if c.at.protocol != protocol
            and c.record.parser in parsers
            and c.status == o.CELL_OK
            and c.at.client_family == ran[0].at.client_family
            and c.at.server_family == ran[0].at.server_family
            and all(
                (e := row.entries.get(c.id)) is not None and e.measured in PASSING
                for row in required if row.feature in hits
            )
        }
    )  # fmt: skip
    return Blocker(features, outcome, message, str(low), str(high), every, others)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def minimums(cells: list[Cell], required: list[FeatureRow]) -> list[Minimum]:
    """One :class:`Minimum` per server x client family (x claimed protocol and topology, when
    the cells claim them) that has cells; Redis/redis-py first."""
    order = {"redis": 0, "valkey": 1}
    families = sorted(
        {(c.at.server_family, c.at.client_family, *c.at.variant) for c in _ran(cells)},
        key=lambda f: (order.get(f[0], 9), f[0], order.get(f[1], 9), f[1], f[2], f[3]),
    )
    return [minimum_pair(cells, required, s, c, p or None, t or None) for s, c, p, t in families]
