"""A validated matrix -> the list of cells to run (server x client x python x protocol x parser
x topology).

Selection (--servers/--clients/--python), exclusions and sharding all happen here, before any
server or virtualenv exists, so that ``--list`` shows exactly what a run would do. A shard keeps
each line bisection compares whole (:mod:`streammatrix.shards`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from streammatrix import shards
from streammatrix.config.model import DEFAULT_PARSER, TOPOLOGIES, ClientSpec, Matrix, ServerSpec
from streammatrix.errors import ConfigError
from streammatrix.junit.format import CELL_ID as CELL_ID  # re-exported: a cell id's pattern
from streammatrix.names import ID_SEPARATOR
from streammatrix.versions import pinned_version

# I/N in ASCII digits (int() would also read "+1", "1_0" and other scripts' digits)
_SHARD = re.compile(r"([0-9]{1,30})/([0-9]{1,30})")


def protocol_suffix(protocol: str | None) -> str:
    """The cell id's suffix: "3" -> "--resp3", "3-unified" -> "--resp3-unified", None -> ""."""
    return f"{ID_SEPARATOR}resp{protocol}" if protocol else ""


def parser_suffix(parser: str | None) -> str:
    """The cell id's suffix: "hiredis" -> "--parser-hiredis"; the client's own parser (a claim
    of "python", or none) adds nothing, so a row that gains ``parsers:`` keeps its cells' ids
    and an earlier baseline still matches them."""
    return f"{ID_SEPARATOR}parser-{parser}" if parser and parser != DEFAULT_PARSER else ""


def topology_suffix(topology: str | None) -> str:
    """The cell id's suffix: "cluster" -> "--cluster"; a standalone server (a claim of
    "standalone", or none) adds nothing, so a matrix that gains ``topologies:`` keeps its
    cells' ids and an earlier baseline still matches them."""
    return f"{ID_SEPARATOR}{topology}" if topology and topology != TOPOLOGIES[0] else ""


@dataclass(frozen=True)
class Cell:
    server: ServerSpec
    client: ClientSpec
    python: str
    excluded: str | None = None  # the reason, when matrix.yaml excludes this cell
    protocol: str | None = None  # "2", "3", "3-unified"; None: the client's default, no claim
    parser: str | None = None  # "python", "hiredis"; None: no claim (the client alone)
    topology: str | None = None  # "standalone", "cluster"; None: standalone, no claim

    @property
    def id(self) -> str:
        base = ID_SEPARATOR.join((self.server.name, self.client.name, f"py{self.python}"))
        return (
            base + protocol_suffix(self.protocol) + parser_suffix(self.parser)
            + topology_suffix(self.topology)
        )  # fmt: skip

    def coordinates(self) -> dict[str, str]:
        coordinates = {
            "id": self.id,
            "server": self.server.name,
            "client": self.client.name,
            "python": self.python,
        }
        if self.protocol:
            coordinates["protocol"] = self.protocol
        if self.parser:
            coordinates["parser"] = self.parser
        if self.topology:
            coordinates["topology"] = self.topology
        return coordinates


def runs(server: ServerSpec, topology: str | None) -> bool:
    """Whether ``server`` runs cells of ``topology``: its row's `topologies:` (default: every
    one the matrix lists; None, no claim, is a standalone server)."""
    return not server.topologies or (topology or TOPOLOGIES[0]) in server.topologies


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4); the index is 1-based, as CI matrices count."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise ConfigError(f"--shard {text[:40]!r}: expected I/N, e.g. 1/4")
    index, total = int(match[1]), int(match[2])
    if not 1 <= index <= total:
        raise ConfigError(f"--shard {text!r}: I must be between 1 and N")
    if total > shards.MAX_SHARDS:
        raise ConfigError(f"--shard {text!r}: N must be at most {shards.MAX_SHARDS}")
    return index, total


def _select(
    names: Sequence[str], patterns: Sequence[str] | None, option: str, noun: str
) -> set[str]:
    if not patterns:
        return set(names)
    chosen: set[str] = set()
    for pattern in patterns:
        if pattern == "all":
            return set(names)
        hits = {n for n in names if fnmatch.fnmatchcase(n, pattern)}
        if not hits:
            raise ConfigError(
                f"--{option} {pattern!r} matches no {noun} in matrix.yaml "
                f"(there are: {', '.join(names)})"
            )
        chosen |= hits
    return chosen


def excluded(matrix: Matrix, server: ServerSpec, client: ClientSpec, python: str) -> str | None:
    for rule in matrix.exclude:
        if (
            rule.server.matches(server.name, server.family, server.version or "")
            and rule.client.matches(client.name, client.package, pinned_version(client.version))
            and fnmatch.fnmatchcase(python, rule.python)
        ):
            return rule.reason or "excluded in matrix.yaml"
    return None


def plan(
    matrix: Matrix,
    *,
    servers: Sequence[str] | None = None,
    clients: Sequence[str] | None = None,
    pythons: Sequence[str] | None = None,
    shard: tuple[int, int] | None = None,
    protocols: Sequence[str] | None = None,
    parsers: Sequence[str] | None = None,
    topologies: Sequence[str] | None = None,
) -> list[Cell]:
    """Expand the matrix into cells, in a stable order: client, python, protocol, parser,
    topology, then
    server.

    Without a selection, the entries marked ``default: false`` are left out. Grouping by client
    first means a shard creates as few virtualenvs as possible (the slow part of a cell).
    """
    # Of a server row, the grid runs the releases its `expand:` picks; the others are
    # bisection's. Names, globs and "all" select among the grid's (a row's name selects all of
    # its); a release outside the grid is selected by its exact name only.
    listed_servers = [s for s in matrix.servers if (servers or s.default) and s.in_grid]
    aside = {s.name for s in matrix.servers if not s.in_grid and s.name in (servers or ())}
    patterns = [p for p in servers or () if p not in aside] if servers else None
    server_rows = sorted({s.row for s in listed_servers if s.row})
    names = [s.name for s in listed_servers] + server_rows
    picked = set() if patterns == [] else _select(names, patterns, "servers", "server")
    server_names = {s.name for s in listed_servers if s.name in picked or s.row in picked}
    server_names |= aside
    listed = [c for c in matrix.clients if clients or c.default]
    # an expanded release is selected by its own name or by its row's (``--clients redis-4``)
    rows = sorted({c.row for c in listed if c.row})
    chosen = _select([c.name for c in listed] + rows, clients, "clients", "client")
    client_names = {c.name for c in listed if c.name in chosen or c.row in chosen}
    python_versions = _select(list(matrix.python), pythons, "python", "python version")
    # a row without `protocols:` claims none: "default" selects its cells
    claims = {p or "default": p for p in matrix.protocols}
    chosen_claims = {claims[n] for n in _select(list(claims), protocols, "protocols", "protocol")}
    # a row without `parsers:` claims none: "default" selects its cells, as for protocols
    listed_parsers = list(dict.fromkeys(p or "default" for c in listed for p in c.parsers))
    chosen_parsers = _select(listed_parsers, parsers, "parsers", "parser")
    # likewise without `topologies:`: "default" selects the cells that claim none
    deployments = {t or "default": t for t in matrix.topologies}
    chosen_topologies = {
        deployments[n] for n in _select(list(deployments), topologies, "topologies", "topology")
    }
    cells = [
        Cell(
            server,
            client,
            python,
            excluded(matrix, server, client, python),
            protocol,
            parser,
            topology,
        )
        for client in matrix.clients
        if client.name in client_names
        for python in matrix.python
        if python in python_versions and (not client.pythons or python in client.pythons)
        for protocol in matrix.protocols
        if protocol in chosen_claims
        for parser in client.parsers
        if (parser or "default") in chosen_parsers
        for topology in matrix.topologies
        if topology in chosen_topologies
        for server in matrix.servers
        if server.name in server_names and runs(server, topology)
    ]
    _one_cell_per_id(cells)
    if shard is not None:
        cells = shards.split(cells, *shard, keys=line_keys)
    return cells


def _one_cell_per_id(cells: Sequence[Cell]) -> None:
    """A cell id names one cell: its file, its log and its column. matrix.yaml is checked so
    that names cannot collide (config/load.py); this is the last word, should one still. Ids
    that differ only in case are one file name on macOS and Windows, so they collide too."""
    seen: dict[str, Cell] = {}
    for cell in cells:
        other = seen.setdefault(cell.id.casefold(), cell)
        if other is not cell:
            raise ConfigError(
                f"{cell.id}: two cells would share this id, as a file name at least "
                f"(servers {other.server.name!r} and "
                f"{cell.server.name!r}, clients {other.client.name!r} and {cell.client.name!r}), "
                "and one would overwrite the other's results: rename one of the rows"
            )


# axis, its row, the other axis's entry, python, protocol, parser, topology
Line = tuple[str, str, str, str, str, str, str]


def lines(
    client_row: str,
    server_row: str,
    server: str,
    client: str,
    python: str,
    protocol: str,
    parser: str = "",
    topology: str = "",
) -> list[Line]:
    """The lines a cell lies on, which bisection compares and a shard keeps whole: the
    releases of a client range row on one server, and the releases of a server row with one
    client (same Python, protocol, parser and topology, "" for none claimed)."""
    found = []
    if client_row:
        found.append(("client", client_row, server, python, protocol, parser, topology))
    if server_row:
        found.append(("server", server_row, client, python, protocol, parser, topology))
    return found


def line_keys(cell: Cell) -> list[Line]:
    """The lines of a planned cell (see :func:`lines`)."""
    return lines(
        cell.client.row, cell.server.row, cell.server.name, cell.client.name, cell.python,
        cell.protocol or "", cell.parser or "", cell.topology or "",
    )  # fmt: skip


def servers_needed(matrix: Matrix, cells: Sequence[Cell]) -> list[ServerSpec]:
    """The server entries a run of ``cells`` may start: theirs, and the releases of a server
    row between two of them, which bisection runs (what ``streammatrix images`` builds)."""
    ran = {c.server.name for c in cells}
    rows: dict[str, list[int]] = {}
    for spec in matrix.servers:
        if spec.row and spec.name in ran:
            rows.setdefault(spec.row, []).append(spec.releases.index(spec.release))
    return [
        s
        for s in matrix.servers
        if s.name in ran
        or (s.row in rows and min(rows[s.row]) < s.releases.index(s.release) < max(rows[s.row]))
    ]
