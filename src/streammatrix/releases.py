"""Client ranges -> releases: list a package's releases on the index pip uses, and expand a
range row of matrix.yaml (``version: ">=4.0,<6"``) into one client per chosen release.

The listing reads the index's simple API (PEP 691 JSON) over HTTP, from the index pip is
configured with (``PIP_INDEX_URL``/``UV_INDEX_URL`` or pip.conf, else PyPI): no subprocess, so
this sits just above :mod:`streammatrix.config` and below :mod:`streammatrix.plan`, which
expands before it plans. Yanked releases are left out, pre-releases unless the row asks.
"""

from __future__ import annotations

import configparser
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from streammatrix import versions
from streammatrix.config.model import ClientSpec, Matrix
from streammatrix.errors import ConfigError
from streammatrix.names import release_name

DEFAULT_INDEX = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Release:
    version: Version
    requires_python: str = ""
    yanked: bool = False


Lister = Callable[[str], Sequence[Release]]


def index_url() -> str:
    """The index pip (or uv) installs from here: its environment, then pip.conf, else PyPI."""
    for key in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(key):
            return os.environ[key].rstrip("/")
    files = [os.environ.get("PIP_CONFIG_FILE", ""), "/etc/pip.conf", "/etc/xdg/pip/pip.conf"]
    home = Path.home()
    files += [str(home / ".pip/pip.conf"), str(home / ".config/pip/pip.conf")]
    found = DEFAULT_INDEX
    for name in files:  # later files win, as in pip
        parser = configparser.ConfigParser()
        try:
            parser.read(name)
        except (configparser.Error, OSError):
            continue
        if parser.has_option("global", "index-url"):
            found = parser.get("global", "index-url").rstrip("/")
    return found


def _version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (ValueError, InvalidVersion):
        return None


_CACHE: dict[str, list[Release]] = {}


def list_releases(package: str) -> list[Release]:
    """Every release of ``package`` on the index, oldest first (yanked ones marked)."""
    name = canonicalize_name(package)
    if name in _CACHE:
        return _CACHE[name]
    url = f"{index_url()}/{name}/"
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            data = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConfigError(f"cannot list the releases of {package} from {url}: {exc}") from None
    files: dict[Version, list[dict]] = {}
    for item in data.get("files", []):
        version = _version(item.get("filename", ""))
        if version is not None:
            files.setdefault(version, []).append(item)
    releases = [
        Release(
            version,
            requires_python=next(
                (f["requires-python"] for f in items if f.get("requires-python")), ""
            ),
            yanked=all(bool(f.get("yanked")) for f in items),
        )
        for version, items in sorted(files.items())
    ]
    _CACHE[name] = releases
    return releases


def in_range(client: ClientSpec, releases: Sequence[Release]) -> list[Release]:
    """The releases a range row admits: in its specifier, not yanked, pre-releases if asked."""
    spec = SpecifierSet(client.version, prereleases=client.prereleases or None)
    return [
        r
        for r in releases
        if not r.yanked
        and (client.prereleases or not (r.version.is_prerelease or r.version.is_devrelease))
        and spec.contains(r.version, prereleases=client.prereleases)
    ]


def chosen(expand: str, releases: Sequence[Release]) -> list[Release]:
    """The releases the grid runs of a row (see :func:`streammatrix.versions.sample`)."""
    picked = set(versions.sample([str(r.version) for r in releases], expand))
    return [r for r in releases if str(r.version) in picked]


def release_client(row: ClientSpec, release: Release, every: Sequence[Release]) -> ClientSpec:
    """The client of one release of ``row``: named ``<package>-<version>``, pinned exactly."""
    return replace(
        row,
        name=release_name(row.package, release.version),
        version=f"=={release.version}",
        expand="",
        row=row.name,
        releases=tuple(str(r.version) for r in every),
        requires_python=release.requires_python,
    )


def _unique(matrix: Matrix, client: ClientSpec, clients: Sequence[ClientSpec]) -> None:
    """A release and a row of one name would be one cell id twice. config/load.py refuses such
    a matrix.yaml, naming both rows; this refuses a Matrix made another way."""
    for other in clients:
        if other.name == client.name:
            row = client.row or other.row
            raise ConfigError(
                f"{matrix.path}: client {client.name!r} is both a row and a release of the "
                f"range row {row!r}: both would be the same cell; rename the row"
            )


@dataclass(frozen=True)
class Row:
    """A range row and every release in it (what bisection may run between two cells)."""

    spec: ClientSpec
    releases: tuple[Release, ...]

    def client(self, version: str) -> ClientSpec:
        release = next(r for r in self.releases if str(r.version) == version)
        return release_client(self.spec, release, self.releases)


def expand(matrix: Matrix, lister: Lister = list_releases) -> tuple[Matrix, dict[str, Row]]:
    """``matrix`` with every range row replaced by its releases, and those rows by name."""
    clients: list[ClientSpec] = []
    rows: dict[str, Row] = {}
    for client in matrix.clients:
        if not client.expand:
            _unique(matrix, client, clients)
            clients.append(client)
            continue
        every = in_range(client, lister(client.package))
        if not every:
            raise ConfigError(
                f"{matrix.path}: client {client.name!r}: no release of {client.package} "
                f"matches {client.version!r} on {index_url()}"
            )
        rows[client.name] = Row(client, tuple(every))
        taken = {c.name: c for c in clients}
        for release in chosen(client.expand, every):
            one = release_client(client, release, every)
            other = taken.get(one.name)
            if other is None:
                clients.append(one)
            elif not other.row:
                _unique(matrix, one, [other])
            # else: two range rows share a release; it runs once, as the first row's
    return replace(matrix, clients=tuple(clients)), rows


def shared(matrix: Matrix, rows: dict[str, Row]) -> list[str]:
    """One line per range row some of whose grid releases run as another row's (two ranges
    that overlap): each such release runs once, as a release of the row listed first."""
    owner = {c.name: c.row for c in matrix.clients if c.row}
    notes = []
    for name, row in rows.items():
        elsewhere: dict[str, list[str]] = {}
        for release in chosen(row.spec.expand, row.releases):
            first = owner.get(release_name(row.spec.package, release.version))
            if first and first != name:
                elsewhere.setdefault(first, []).append(str(release.version))
        for first, taken in elsewhere.items():
            notes.append(
                f"client rows {first!r} and {name!r} share {', '.join(taken)}: each runs "
                f"once, as a release of {first!r}"
            )
    return notes
