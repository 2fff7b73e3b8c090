"""The per-feature minimum table: one column per server family and per client family, split
per protocol (and topology) where a feature's minimum differs between them. Each entry says
what bounds it: "6.2.5 (lowest tested)" when no older version ran, "client lacks it" / "server
lacks it" rather than a bare "never". report.md always carries this table; report.html too.
"""

from __future__ import annotations

from dataclasses import dataclass

from streammatrix.report.analysis.model import FeatureRow, Report
from streammatrix.report.analysis.vocabulary import BOUND_LOWEST_TESTED
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS


@dataclass(frozen=True)
class Column:
    side: str  # "server" / "client"
    family: str
    protocol: str  # "" = over every protocol (it does not change this family's minimums)
    topology: str = ""  # "" = over every topology, likewise

    @property
    def header(self) -> str:
        labels = SERVER_LABELS if self.side == "server" else CLIENT_LABELS
        over = f" RESP{self.protocol.replace('-', ' ')}" if self.protocol else ""
        over += f" {self.topology}" if self.topology else ""
        return f"{labels.get(self.family, self.family)}{over} ≥"


def _values(row: FeatureRow, side: str) -> tuple[dict, dict]:
    if side == "server":
        return row.min_server, row.min_server_at
    return row.min_client, row.min_client_at


def columns(report: Report) -> list[Column]:
    """Server families, then client families; a family is split per protocol when some
    feature's minimum (or what bounds it) differs between the protocols."""
    out: list[Column] = []
    for side in ("server", "client"):
        families = list(dict.fromkeys(f for r in report.rows for f in _values(r, side)[0]))
        for family in families:
            claims = sorted(
                {(p, t) for r in report.rows for (f, p, t) in _values(r, side)[1]
                 if f == family and (p or t)}
            )  # fmt: skip
            split = [Column(side, family, p, t) for p, t in claims]
            differs = len(split) > 1 and any(
                len({entry(r, column) for column in split}) > 1 for r in report.rows
            )
            out.extend(split if differs else [Column(side, family, "")])
    return out


def entry(row: FeatureRow, column: Column) -> str:
    """ "6.2.5", "6.2.5 (lowest tested)", "client lacks it", ..."""
    overall, per = _values(row, column.side)
    if column.protocol or column.topology:
        version = per.get((column.family, column.protocol, column.topology))
    else:
        version = overall.get(column.family)
    bound = row.bounds.get((column.side, column.family, column.protocol, column.topology), "")
    if version is None:
        return bound or "never"
    return f"{version} ({bound})" if bound == BOUND_LOWEST_TESTED else version
