"""The headline: the answer in at most three short lines, everything else below it.

One line per protocol (and topology) claim (one line when the matrix claims neither): the minimum
server of each family, the minimum client and the requirement to paste; where nothing passes,
one clause says why with the features, their shared message and the client releases they
fail on. The last line counts the red results. Each line stays under ``LINE_LIMIT``
characters: what does not fit is named as "+N more", and the sections below have it all.
"""

from __future__ import annotations

from collections import Counter

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Blocker, Minimum, Report
from streammatrix.report.analysis.vocabulary import BOUND_LOWEST_TESTED
from streammatrix.report.views.markdown import one_line
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS

LINE_LIMIT = 110  # characters per line; three lines stay under 300 with the separators
FEATURES_NAMED = 2  # features a "none passes" clause names before "+N"


def _server(m: Minimum) -> str:
    name = SERVER_LABELS.get(m.server_family, m.server_family)
    return f"{name} >= {m.server}" + (f" ({BOUND_LOWEST_TESTED})" if m.server_lowest_tested else "")


def _client(m: Minimum) -> str:
    name = CLIENT_LABELS.get(m.client_family, m.client_family)
    return f"{name} >= {m.client}" + (f" ({BOUND_LOWEST_TESTED})" if m.client_lowest_tested else "")


def _requirement(report: Report, claim: tuple[str, str], family: str, client: str) -> str:
    """The requirement the release ranges give on this protocol and topology, the most common
    one, else the plain ``>=`` of the minimum."""
    found = Counter(
        s.requirement
        for s in (report.boundaries.supported if report.boundaries is not None else [])
        if s.requirement and (s.line.protocol, s.line.topology) == claim and s.line.family == family
    )
    return found.most_common(1)[0][0] if found else f"{family}>={client}"


def _why(b: Blocker, m: Minimum, room: int) -> str:
    """ "xread, xreadgroup +6 fail on every redis-py >= 5.0.8 (KeyError: 0)", the optional
    parts (the message, the protocol that passes) left out where they do not fit ``room``."""
    named = ", ".join(b.features[:FEATURES_NAMED])
    more = f" +{len(b.features) - FEATURES_NAMED}" if len(b.features) > FEATURES_NAMED else ""
    verb = {"fail": "fail", "error": "error"}.get(b.outcome, "unsupported")
    client = CLIENT_LABELS.get(m.client_family, m.client_family)
    if b.every:
        where = f"on every {client} >= {b.client_from}"
    elif b.client_from == b.client_to:
        where = f"on {client} {b.client_from}"
    else:
        where = f"on {client} {b.client_from}-{b.client_to}"
    text = f"{named}{more} {verb} {where}"
    for extra in (
        f" ({b.message})" if b.message else "",
        f"; RESP{'/'.join(b.other_protocols)} passes" if b.other_protocols else "",
    ):
        if extra and len(text) + len(extra) <= room:
            text += extra
    return text


def _parts(report: Report, claim: tuple[str, str], minimums: list[Minimum], head: str) -> list[str]:
    """The clauses of one protocol's line: a family pair's minimums (servers of one client
    minimum together), then, where none passes, why."""
    parts: list[str] = []
    by_client: dict[tuple[str, str], list[Minimum]] = {}
    for m in minimums:
        if m.server and m.client:
            by_client.setdefault((m.client_family, m.client), []).append(m)
    for (family, client), group in by_client.items():
        servers = ", ".join(_server(m) for m in group)
        text = f"{servers} with {_client(group[0])}"
        need = _requirement(report, claim, family, client)
        if len(head) + len(text) + len(need) + 3 <= LINE_LIMIT:
            text += f": {need}"
        parts.append(text)
    failing = [m for m in minimums if not (m.server and m.client)]
    if failing:
        names = ", ".join(SERVER_LABELS.get(m.server_family, m.server_family) for m in failing)
        lead = f"none passes on {names}"
        used = len(head) + sum(len(p) + 2 for p in parts) + len(lead) + 2
        if used > LINE_LIMIT:  # on a line of its own (the second line of a single protocol)
            used = len(head) + len(lead) + 2
        why = failing[0].blocker
        parts.append(lead + (f": {_why(why, failing[0], LINE_LIMIT - used)}" if why else ""))
    return parts


def _shorten(text: str, limit: int) -> str:
    """``text`` in ``limit`` characters: first without the "(lowest tested)" remarks (the
    minimum table below keeps them), only then cut at a word, so a minimum is not cut off
    for a remark about it."""
    if len(text) > limit:
        text = text.replace(f" ({BOUND_LOWEST_TESTED})", "")
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def _fit(head: str, parts: list[str]) -> tuple[str, list[str]]:
    """As many of ``parts`` as fit on one line after ``head``; the rest."""
    text = head
    for i, part in enumerate(parts):
        candidate = text + ("; " if text != head else "") + part
        if len(candidate) > LINE_LIMIT:
            if text == head:  # even the first part is too long: shorten it
                return _shorten(candidate, LINE_LIMIT), parts[i + 1 :]
            return text, parts[i:]
        text = candidate
    return text, []


def lines(report: Report) -> list[str]:
    """At most three lines: the minimums per protocol (two lines; the rest "+N more below"),
    then the red count."""
    if not report.minimums:  # nothing to order: the red count says how many
        ran = [c for c in report.cells if c.status == o.CELL_OK]
        versions = ", ".join(sorted({f"{c.at.server_label} / {c.at.client_label}" for c in ran}))
        why = (
            _shorten(f"No cell that ran has versions that order ({versions})", LINE_LIMIT - 40)
            if ran
            else "No cell ran to the end"
        )
        return [one_line(f"{why}, so no minimum supported version can be stated."), _red(report)]
    by_claim: dict[tuple[str, str], list[Minimum]] = {}
    for m in report.minimums:
        by_claim.setdefault((m.protocol, m.topology), []).append(m)
    out: list[str] = []
    pending = list(by_claim.items())
    rest: list[str] = []
    while pending and len(out) < 2:
        claim, minimums = pending[0]
        protocol, topology = claim
        said = " ".join(x for x in (f"RESP{protocol.replace('-', ' ')}" if protocol else "",
                                    topology) if x)  # fmt: skip
        head = f"{said}: " if said else ""
        # Feature names, messages and versions come from cell files: one line each, so the
        # headline stays its three lines on the console, in report.json and in the badge.
        parts = rest or [one_line(p) for p in _parts(report, claim, minimums, head)]
        line, rest = _fit(head, parts)
        out.append(line)
        if not rest:
            pending.pop(0)
    left = len(rest) + sum(len(_parts(report, p, ms, "")) for p, ms in pending[1 if rest else 0 :])
    if left:
        more = f"; +{left} more below"
        out[-1] = _shorten(out[-1], LINE_LIMIT - len(more))
        out[-1] += more
    out.append(_red(report))
    return out


def _red(report: Report) -> str:
    red = len(report.unexpected)
    return (
        f"{red} red result{'s' if red != 1 else ''}"
        + (f" ({len(report.causes)} cause(s))" if red and len(report.causes) < red else "")
        + f", {len(report.facts)} fail(s) below a minimum (not red)"
    )


def text(report: Report) -> str:
    """The headline as one string, its lines joined by newlines."""
    return "\n".join(lines(report))
