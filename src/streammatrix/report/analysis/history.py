"""History across nights: the baseline's history travels forward into tonight's report.json.

Per feature and cell, the outcomes of the last N runs (oldest first, tonight last), so the
report can say how often each flipped between passing and failing (``✔✔✘✔✔``), flag one that
flips repeatedly as flaky across nights even when tonight passed, tell when each minimum
supported version (per family pair and protocol) last changed, and when each feature was last
verified (passed).

A baseline without a history (schema ``streammatrix-report/1``) contributes its own run: its
grid, its minimums and its date.
"""

from __future__ import annotations

from typing import Any

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.baseline import Baseline, minimum_key
from streammatrix.report.analysis.model import FeatureRow, Report

DEFAULT_RUNS = 14
FLAKY_FLIPS = 2  # flips within the kept runs that make a feature x cell flaky across nights
_GOOD = (o.PASS,)
_BAD = (o.FAIL, o.ERROR, o.FLAKY, o.EXPECTED_FAILURE)
TRAIL = {o.PASS: "✔", o.FLAKY: "≈", o.FAIL: "✘", o.ERROR: "!", o.EXPECTED_FAILURE: "✘"}
TRAIL.update({o.UNSUPPORTED_SERVER: "⊘", o.UNSUPPORTED_CLIENT: "⊘"})


def trail(outcomes: list[str | None]) -> str:
    """One symbol per run, oldest first: ✔ pass, ≈ flaky, ✘ fail, ! error, ⊘ unsupported."""
    return "".join(TRAIL.get(x or "", "·") for x in outcomes)


def flips(outcomes: list[str | None]) -> int:
    """How often the result changed between passing and failing (other results are skipped)."""
    states = [x in _GOOD for x in outcomes if x in _GOOD or x in _BAD]
    return sum(1 for a, b in zip(states, states[1:]) if a != b)


def _previous(baseline: Baseline | None) -> dict[str, Any]:
    """The baseline's history, or one built from a baseline that has none (schema /1)."""
    if baseline is None:
        return {"runs": [], "outcomes": {}, "minimums": {}, "feature_minimums": {}}
    if baseline.history is not None:
        return baseline.history
    when = baseline.generated or "?"
    return {
        "runs": [when],
        "outcomes": {
            f["key"]: {cid: [x] for cid, x in f.get("grid", {}).items()} for f in baseline.features
        },
        "minimums": {
            minimum_key(m["server_family"], m["client_family"], m.get("protocol") or ""): {
                "server": m.get("server"),
                "client": m.get("client"),
                "changed": when,
            }
            for m in baseline.minimums
        },
        "feature_minimums": {
            f["key"]: {
                "min_server": f.get("min_server", {}),
                "min_client": f.get("min_client", {}),
                "changed": when,
            }
            for f in baseline.features
        },
    }


def _changed(old: dict[str, Any] | None, now: dict[str, Any], when: str) -> str:
    """When this minimum last changed: the old date if it is the same as before."""
    if old is not None and all(old.get(k) == v for k, v in now.items()):
        return old.get("changed", when)
    return when


def carry(report: Report, baseline: Baseline | None, limit: int | None) -> dict[str, Any]:
    """Tonight's history: the baseline's, tonight's run appended, at most ``limit`` runs."""
    limit = DEFAULT_RUNS if limit is None else max(1, limit)
    before = _previous(baseline)
    now = report.generated.isoformat() if report.generated else "?"
    runs = [*before["runs"], now][-limit:]
    width = len(runs)
    outcomes: dict[str, dict[str, list[str | None]]] = {}
    for row in report.rows:
        old = before["outcomes"].get(row.key, {})
        cells = set(old) | set(row.entries)
        per_cell = {}
        for cid in sorted(cells):
            past = list(old.get(cid, []))[-(width - 1) :] if width > 1 else []
            past = [None] * (width - 1 - len(past)) + past
            entry = row.entries.get(cid)
            seq = [*past, (entry.measured or entry.outcome) if entry else None]
            if any(x is not None for x in seq):  # a cell gone for all the kept runs is dropped
                per_cell[cid] = seq
        outcomes[row.key] = per_cell
    minimums = {}
    for m in report.minimums:  # one per family pair and protocol: RESP3 never hides RESP2
        key = minimum_key(m.server_family, m.client_family, m.protocol)
        value = {"server": m.server, "client": m.client}
        minimums[key] = {**value, "changed": _changed(before["minimums"].get(key), value, now)}
    feature_minimums = {}
    for row in report.rows:
        value = {
            "min_server": row.min_server,
            "min_client": row.min_client,
            "by_protocol": _by_protocol(row),
        }
        old = before["feature_minimums"].get(row.key)
        feature_minimums[row.key] = {**value, "changed": _changed(old, value, now)}
    return _history(limit, runs, outcomes, minimums, feature_minimums)


def kept(baseline: Baseline | None, limit: int | None) -> dict[str, Any]:
    """The baseline's history as it was, for a run that is no night of its own (an interrupted
    one): its report must not drop the nights before it, the next run's baseline."""
    limit = DEFAULT_RUNS if limit is None else max(1, limit)
    before = _previous(baseline)
    runs = list(before["runs"])[-limit:]
    width = len(runs)
    outcomes = {
        key: {
            cid: [None] * (width - len(seq[-width:])) + list(seq[-width:])
            for cid, seq in per_cell.items()
            if width and any(x is not None for x in seq[-width:])
        }
        for key, per_cell in before["outcomes"].items()
    }
    return _history(limit, runs, outcomes, before["minimums"], before["feature_minimums"])


def _history(
    limit: int,
    runs: list[str],
    outcomes: dict[str, dict[str, list[str | None]]],
    minimums: dict[str, Any],
    feature_minimums: dict[str, Any],
) -> dict[str, Any]:
    return {
        "limit": limit,
        "runs": runs,
        "outcomes": outcomes,
        "minimums": minimums,
        "feature_minimums": feature_minimums,
        "last_verified": _last_verified(runs, outcomes),
        "flips": {
            key: {cid: n for cid, seq in per_cell.items() if (n := flips(seq))}
            for key, per_cell in outcomes.items()
            if any(flips(seq) for seq in per_cell.values())
        },
    }


def _by_protocol(row: FeatureRow) -> dict[str, dict[str, str | None]]:
    """A feature's minimums per protocol (and topology) claim, only where the cells claim one:
    "RESP3", "RESP3 cluster", "cluster"."""
    out: dict[str, dict[str, str | None]] = {}
    for side, lows in (("server", row.min_server_at), ("client", row.min_client_at)):
        for (family, protocol, topology), version in lows.items():
            if protocol or topology:
                claim = " ".join(x for x in (f"RESP{protocol}" if protocol else "", topology) if x)
                out.setdefault(claim, {})[f"{side}/{family}"] = version
    return out


def _last_verified(
    runs: list[str], outcomes: dict[str, dict[str, list[str | None]]]
) -> dict[str, str | None]:
    """Per feature: the date of the last run in which it passed in some cell."""
    found: dict[str, str | None] = {}
    for key, per_cell in outcomes.items():
        hits = [i for seq in per_cell.values() for i, x in enumerate(seq) if x == o.PASS]
        found[key] = runs[max(hits)] if hits else None
    return found


def flaky_across_nights(history: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """(feature key, cell, flips, trail) of each feature x cell that flipped repeatedly."""
    found = []
    for key, per_cell in history.get("flips", {}).items():
        for cid, n in per_cell.items():
            if n >= FLAKY_FLIPS:
                found.append((key, cid, n, trail(history["outcomes"][key][cid])))
    return sorted(found, key=lambda x: (-x[2], x[0], x[1]))


def flipping(history: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """(feature key, cell, flips, trail) of every feature x cell that flipped at all."""
    return sorted(
        (
            (key, cid, n, trail(history["outcomes"][key][cid]))
            for key, per_cell in history.get("flips", {}).items()
            for cid, n in per_cell.items()
        ),
        key=lambda x: (-x[2], x[0], x[1]),
    )
