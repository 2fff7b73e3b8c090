"""The headline: the answer in at most three short lines, everything else below it.

One line per protocol claim (one line when the matrix claims none): the minimum server of each
family, the minimum client and the requirement to paste; where nothing passes, one clause says
why with the features, their shared message and the client releases they fail on. Topologies
other than a standalone server follow on their protocol's line as a clause of their own
("cluster: Redis >= 7.0.15 with redis-py >= 5.0.8"), so the standalone answer always leads.
The last line counts the red results. Each line stays under ``LINE_LIMIT`` characters: what
does not fit is named as "+N more", and the sections below have it all.
"""

from __future__ import annotations

import re
from collections import Counter

from streammatrix.plugin import outcomes as o
from streammatrix.plugin.outcomes import TOPOLOGY_STANDALONE
from streammatrix.report.analysis.model import Blocker, Minimum, Report
from streammatrix.report.analysis.vocabulary import BOUND_LOWEST_TESTED
from streammatrix.report.views.markdown import one_line
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS

LINE_LIMIT = 110  # characters a clause plans for (a line may take more of TOTAL_LIMIT)
TOTAL_LIMIT = 300  # characters of the three lines, newlines included
FEATURES_NAMED = 2  # features a "none passes" clause names before "+N"
# what a "none passes" clause (_why) adds where it has room, in the order a short line drops it
_EXTRAS = (re.compile(r"; RESP[0-9/ a-z]+ passes"), re.compile(r" \([^()]*\)(?=;|$)"))


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


def _parts(
    report: Report, claim: tuple[str, str], minimums: list[Minimum], head: str, *, brief=False
) -> list[str]:
    """The clauses of one protocol's line: a family pair's minimums (servers of one client
    minimum together; ``brief``: without the requirement), then, where none passes, why."""
    parts: list[str] = []
    by_client: dict[tuple[str, str], list[Minimum]] = {}
    for m in minimums:
        if m.server and m.client:
            by_client.setdefault((m.client_family, m.client), []).append(m)
    for (family, client), group in by_client.items():
        servers = ", ".join(_server(m) for m in group)
        text = f"{servers} with {_client(group[0])}"
        need = _requirement(report, claim, family, client)
        # the requirement before the remarks: a line too long drops those first (_shorten)
        if not brief and len(head) + len(_plain(text)) + len(need) + 3 <= LINE_LIMIT:
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


def _plain(text: str) -> str:
    """``text`` without its "(lowest tested)" remarks (the minimum table below keeps them)."""
    return text.replace(f" ({BOUND_LOWEST_TESTED})", "")


def _shorten(text: str, limit: int, *, extras: bool = True) -> str:
    """``text`` in ``limit`` characters: first without the "(lowest tested)" remarks (the
    minimum table below keeps them), then (``extras``) without what a "none passes" clause
    adds where it has room, only then cut at a word, so a minimum is not cut off for a remark
    about it."""
    if len(text) > limit:
        text = _plain(text)
    for extra in _EXTRAS if extras else ():
        if len(text) > limit:
            text = extra.sub("", text, count=1)
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def _fit(head: str, parts: list[str], limit: int, *, squeeze: bool) -> tuple[str, list[str]]:
    """As many of ``parts`` as fit on one line of ``limit`` characters after ``head`` (with
    ``squeeze``, the remarks give way to a further clause); the rest."""
    text = head
    for i, part in enumerate(parts):
        candidate = text + ("; " if text != head else "") + part
        if squeeze and len(candidate) > limit and len(_plain(candidate)) <= limit:
            candidate = _plain(candidate)  # the remarks give way to a further clause
        if len(candidate) > limit:
            if text == head:  # even the first part is too long: shorten it
                return _shorten(candidate, limit), parts[i + 1 :]
            return text, parts[i:]
        text = candidate
    return text, []


def _standalone_first(topology: str) -> tuple[bool, str]:
    return (topology not in ("", TOPOLOGY_STANDALONE), topology)


def _protocol_parts(report: Report, protocol: str, claims: dict[str, list[Minimum]]) -> list[str]:
    """The clauses of one protocol's line: the standalone server's (or the only topology's),
    then each other topology's, led by its name and brief (the minimum table has the rest)."""
    parts: list[str] = []
    for topology in sorted(claims, key=_standalone_first):
        minimums = claims[topology]
        if parts and not any(m.server and m.client for m in minimums):
            parts.append(f"{topology}: none passes")  # why: in the sections below
            continue
        other = topology not in ("", TOPOLOGY_STANDALONE)
        claim = (protocol, topology)
        own = [one_line(p) for p in _parts(report, claim, minimums, "", brief=bool(parts))]
        if own and other:
            own = [f"{topology}: " + _plain(own[0]), *own[1:]]
        parts += own
    return parts


def lines(report: Report) -> list[str]:
    """At most three lines, ``TOTAL_LIMIT`` characters in all: the minimums of one protocol a
    line (the rest "+N more below"; a single protocol may go on to the second line), then the
    red count."""
    red = _red(report)
    if not report.minimums:  # nothing to order: the red count says how many
        ran = [c for c in report.cells if c.status == o.CELL_OK]
        versions = ", ".join(sorted({f"{c.at.server_label} / {c.at.client_label}" for c in ran}))
        why = (
            _shorten(
                f"No cell that ran has versions that order ({versions})",
                LINE_LIMIT - 40,
                extras=False,
            )
            if ran
            else "No cell ran to the end"
        )
        return [one_line(f"{why}, so no minimum supported version can be stated."), red]
    by_protocol: dict[str, dict[str, list[Minimum]]] = {}
    for m in report.minimums:
        by_protocol.setdefault(m.protocol, {}).setdefault(m.topology, []).append(m)
    heads = [f"RESP{p.replace('-', ' ')}: " if p else "" for p in by_protocol]
    # Feature names, messages and versions come from cell files: one line each, so the
    # headline stays its three lines on the console, in report.json and in the badge.
    parts = [_protocol_parts(report, p, claims) for p, claims in by_protocol.items()]
    budget = TOTAL_LIMIT - len(red) - 2  # for the lines above the red count, with newlines
    if len(parts) == 1:  # one protocol (or none claimed): it may take both lines
        first, rest = _fit(heads[0], parts[0], budget // 2, squeeze=False)
        out = [first]
        if rest:
            second, rest = _fit(heads[0], rest, budget - len(first), squeeze=True)
            out.append(second)
        left = len(rest)
    else:
        # the second line needs room for its first clause; the first line takes what is left
        need = min(len(heads[1]) + len(parts[1][0]), budget // 2) if parts[1] else 0
        first, rest = _fit(heads[0], parts[0], budget - need, squeeze=True)
        second, more = _fit(heads[1], parts[1], budget - len(first), squeeze=True)
        out = [first, second]
        if rest:  # the first protocol's own remainder is said on its own line
            out[0] = _more(first, len(rest), budget - need)
            out[1], more = _fit(heads[1], parts[1], budget - len(out[0]), squeeze=True)
        left = len(more) + sum(len(p) for p in parts[2:])
    if left:
        out[-1] = _more(out[-1], left, budget - sum(len(line) for line in out[:-1]))
    out.append(red)
    return out


def _more(line: str, left: int, limit: int) -> str:
    """``line`` ending in "; +N more below", within ``limit`` characters."""
    more = f"; +{left} more below"
    return _shorten(line, limit - len(more)) + more


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
