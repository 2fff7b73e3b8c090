"""Families and versions: how a server or client is named, ordered and matched. One home.

A *family* is a line of releases with one version numbering: ``redis`` and ``valkey`` for
servers (Valkey reports ``redis_version:7.2.4`` for compatibility; its own number is
``valkey_version``), a distribution name such as ``redis`` or ``valkey`` for clients. Versions are
PEP 440 (:mod:`packaging`), the same comparator everywhere in the runner.
"""

from __future__ import annotations

import re

from packaging.version import Version

SERVER_FAMILIES = ("redis", "valkey")  # in report order; an unknown family sorts after them
SERVER_LABELS = {"redis": "Redis", "valkey": "Valkey"}
CLIENT_LABELS = {"redis": "redis-py", "valkey": "valkey-py"}
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


def parse(text: str | None) -> Version | None:
    """``text`` as a PEP 440 version, or None when it is empty or not a version (a number
    too long for ``int``, as a hostile cell file or baseline may hold, is not one either)."""
    try:
        return Version(text) if text else None
    except ValueError:  # InvalidVersion, and int()'s limit on digits
        return None


def guess(text: str) -> str:
    """The first dotted number in ``text`` (``redis-7.0`` -> ``7.0``), or ""."""
    match = _NUMBER.search(text or "")
    return match.group(0) if match else ""


def sample(ordered: list[str], expand: str) -> list[str]:
    """The versions a grid runs of an ordered list: ``all`` of them, the first and the last of
    every minor line (``minor``), or of the whole list (``ends``). Bisection fills in the rest
    where an outcome changes."""
    if expand == "all":
        return list(ordered)
    if expand == "ends":
        return list(dict.fromkeys(ordered[:1] + ordered[-1:]))
    lines: dict[tuple[int, ...], list[str]] = {}
    for text in ordered:
        version = parse(text)
        lines.setdefault(version.release[:2] if version else (), []).append(text)
    picked = {x for line in lines.values() for x in (line[0], line[-1])}
    return [x for x in ordered if x in picked]


def matches_claim(claimed: str, actual: str) -> bool:
    """True when ``claimed`` is ``actual`` or a prefix of it on dotted components (7.0/7.0.15).

    Every provider checks a row's ``version:`` with this against what INFO server reports.
    """
    want, have = claimed.strip().split("."), actual.strip().split(".")
    return bool(claimed.strip()) and have[: len(want)] == want


def claim_problem(text: str) -> str:
    """Why INFO server could never report ``text`` as written ("" when it could): a server
    says 7.2.4, never 07.2.4 or 7.2.4.0 (a claim is checked with :func:`matches_claim`)."""
    version = parse(text)
    if version is None or not text.isascii():
        return "not a version"
    if str(version) != text:
        return f"write it as the server reports it ({version})"
    if len(version.release) > 3:
        return f"a server reports at most three numbers ({'.'.join(text.split('.')[:3])})"
    return ""


def server_family(*names: str | None) -> str:
    """The family a server entry belongs to, from its name, image or binary source."""
    text = " ".join(n for n in names if n).lower()
    return "valkey" if "valkey" in text else "redis"


def family_rank(family: str) -> int:
    """Sort key of a server family: Redis, then Valkey, then anything else."""
    return SERVER_FAMILIES.index(family) if family in SERVER_FAMILIES else len(SERVER_FAMILIES)


def pinned_version(specifier: str) -> str:
    """The version a client specifier claims before anything is installed: '==5.0.*' -> 5.0."""
    if not specifier.startswith("==") or "," in specifier:
        return ""
    return specifier.removeprefix("==").removesuffix(".*")
