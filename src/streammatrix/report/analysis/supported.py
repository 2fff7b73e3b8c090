"""Which releases of one line (:class:`~.ranges.Line`: client releases on one server, or server
releases with one client) pass every required feature: the first supported release, *exact* or
*sampled*, and the ready-to-paste PEP 440 requirement that admits exactly the passing ones
(for a server family, the same specifier after its name: ``Redis >=6.0.8``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from packaging.version import Version

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import ranges as r

_OK = (o.PASS, o.SKIPPED)


@dataclass
class Supported:
    """Which releases of one line pass every required feature."""

    line: r.Line
    features: list[str]  # the required features this line measured
    status: dict[str, str]  # release -> "pass" | "fail" | "open"
    first: str | None = None  # the lowest supported release
    first_precision: str = ""
    since: str | None = None  # every release from here on is supported
    since_precision: str = ""
    specifier: str = ""

    @property
    def requirement(self) -> str:
        """``redis>=4.3.4,!=5.0.*`` for a client; ``Redis >=6.0.8`` for a server family."""
        if not self.first:
            return ""
        if self.line.axis == r.SERVER:
            return f"{self.line.family_label} {self.specifier}"
        return f"{self.line.family}{self.specifier}"

    @property
    def failing(self) -> list[str]:
        return [v for v, s in self.status.items() if s == o.FAIL]

    @property
    def sentence(self) -> str:
        label = f"{self.line.family_label} on {self.line.label}"
        if self.first is None:
            return f"{label}: no measured release passes the required features"
        text = f"{label}: first {self.first} ({self.first_precision})"
        if self.since and self.since != self.first:
            text += f", every release from {self.since} ({self.since_precision})"
        return f"{text}; requirement {self.requirement}"


def _precision(line: r.Line, release: str, status: dict[str, str], measured: set[str]) -> str:
    before = [v for v in line.releases[: line.releases.index(release)] if v in status]
    if not before:
        return "sampled"
    ok = before[-1] in measured and release in measured and status[before[-1]] == o.FAIL
    return "exact" if ok else r.OPEN


def specifier(releases: list[str], ok: set[str]) -> str:
    """``>=first,!=...`` admitting exactly ``ok`` among ``releases``; a whole failing minor
    series above the first is collapsed to ``!=X.Y.*``."""
    ordered = sorted(releases, key=Version)
    first = next((v for v in ordered if v in ok), None)
    if first is None:
        return ""
    above = [v for v in ordered if Version(v) > Version(first)]
    series: dict[tuple[int, int], list[str]] = defaultdict(list)
    for v in above:
        series[Version(v).release[:2]].append(v)  # type: ignore[index]
    parts, done = [f">={first}"], set()
    for v in above:
        if v in ok:
            continue
        line = Version(v).release[:2]
        whole = [x for x in ordered if Version(x).release[:2] == line]
        if len(whole) > 1 and all(x not in ok and x in above for x in whole):
            if line not in done:
                parts.append(f"!={line[0]}.{line[1]}.*")
                done.add(line)
        else:
            parts.append(f"!={v}")
    return ",".join(parts)


def supported(line: r.Line, required: set[str]) -> Supported | None:
    features = sorted(f for f in required if any(f in m for m in line.measured.values()))
    if not features:
        return None
    per = {f: line.outcomes(f) for f in features}
    status: dict[str, str] = {}
    measured: set[str] = set()
    for v in line.releases:
        values = [per[f].get(v) for f in features]
        if any(x is not None and x not in _OK and x != r.OPEN for x in values):
            status[v] = o.FAIL
        elif all(x in _OK for x in values):
            status[v] = o.PASS
        elif any(x is not None for x in values):
            status[v] = r.OPEN
        if v in line.measured and all(f in line.measured[v] for f in features):
            measured.add(v)
    result = Supported(line, features, status)
    ok = {v for v, s in status.items() if s == o.PASS}
    result.specifier = specifier(list(status), ok)
    order = [v for v in line.releases if v in status]
    result.first = next((v for v in order if v in ok), None)
    if result.first:
        result.first_precision = _precision(line, result.first, status, measured)
        tail = [v for v in order if v not in ok]
        last_bad = order.index(tail[-1]) if tail else -1
        if last_bad + 1 < len(order):
            result.since = order[last_bad + 1]
            result.since_precision = _precision(line, result.since, status, measured)
    return result
