"""The cache's own apt state: apt-get without root and without touching the host.

apt-get runs with its own sources.list (one line per suite a source names, on the Debian mirror
and keyring the host's apt sources already use), its own package lists and archives, all under
the cache. The host's apt configuration is only read: nothing under ``/etc/apt`` or
``/var/lib/apt`` changes, no host package is installed or upgraded, and no root is needed.
Package lists are fetched again when a suite is added or when they are older than a day, under
the cache's lock. One concept, kept whole: the state, the host's mirror it is built from, and
the names allowed onto apt-get's command line.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock

from streammatrix import names
from streammatrix.errors import ProviderError
from streammatrix.servers.binary.tools import SourceUnreachable, not_here, run_tool

# one rule for matrix.yaml and apt-get (Debian Policy 5.6.1)
_PACKAGE, _SUITE = names.DEBIAN_PACKAGE, names.DEBIAN_SUITE


def debian_package(package: str, origin: str) -> tuple[str, str]:
    """``NAME/SUITE`` as (name, suite); a ProviderError unless both are plain Debian names.

    Whatever reaches apt-get's command line passes here first, so a name can never be read as
    an option or carry anything but a package and a suite.
    """
    name, slash, suite = package.partition("/")
    if not _PACKAGE.fullmatch(name):
        raise ProviderError(
            f"{origin}: {name!r} is not a Debian package name (lowercase letters, digits, "
            "'+', '-' and '.', starting with a letter or digit)"
        )
    if not slash:
        raise ProviderError(f"{origin}: {package!r} names no suite: write {name}/SUITE")
    if not _SUITE.fullmatch(suite):
        raise ProviderError(
            f"{origin}: {suite!r} is not a Debian suite name (lowercase letters, digits and '-', "
            "as in bookworm-backports)"
        )
    return name, suite


HOST_APT = Path("/etc/apt")  # read for the Debian mirror and its keyring, never written
DEBIAN_KEYRINGS = (
    Path("/usr/share/keyrings/debian-archive-keyring.gpg"),
    Path("/usr/share/keyrings/debian-archive-keyring.pgp"),
)
LISTS_MAX_AGE = 24 * 3600  # seconds: older package lists are fetched again


@dataclass(frozen=True)
class Mirror:
    """A Debian archive and the keyring its Release files are checked with."""

    uri: str
    keyring: str | None  # None: the keys apt trusts anyway

    def sources_list(self, suites: Iterable[str]) -> str:
        """A sources.list with one line per suite, component main."""
        signed = f"[signed-by={self.keyring}] " if self.keyring else ""
        return "".join(f"deb {signed}{self.uri} {suite} main\n" for suite in sorted(set(suites)))


def host_mirror(etc: Path = HOST_APT, keyrings: Sequence[Path] = DEBIAN_KEYRINGS) -> Mirror:
    """The Debian archive the host's apt sources use, with its Signed-By keyring.

    The first ``deb`` entry (sources.list, then sources.list.d/ in order, deb822 ``.sources``
    and one-line ``.list`` files) whose URI is a ``.../debian`` archive and whose suites are not
    security updates; without a Signed-By path, the debian-archive-keyring file. Only reads
    ``etc``. A host whose sources name no Debian archive (not a Debian machine) is a
    ProviderError: Debian sources cannot be fetched there.
    """
    fallback = next((str(k) for k in keyrings if k.is_file()), None)
    for types, uri, suites, keyring in _host_entries(etc):
        if "deb" in types and _is_debian_archive(uri, suites):
            return Mirror(uri, keyring or fallback)
    raise ProviderError(
        f"the apt sources under {etc} name no Debian archive, so Debian packages cannot be "
        "fetched on this machine: give the server a pypi source, or use --provider docker"
    )


def _host_entries(etc: Path) -> Iterator[tuple[list[str], str, list[str], str | None]]:
    """(types, URI, suites, Signed-By path) of each entry of the host's apt sources."""
    parts = etc / "sources.list.d"
    files = [etc / "sources.list", *(sorted(parts.iterdir()) if parts.is_dir() else [])]
    for path in files:
        if path.suffix not in (".list", ".sources") or not path.is_file():
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.suffix == ".list":
            yield from _one_line_entries(text)
            continue
        for stanza in _deb822(text):
            if stanza.get("enabled", "yes").strip().lower() == "no":
                continue
            types, suites = stanza.get("types", "").split(), stanza.get("suites", "").split()
            keyring = _keyring(stanza.get("signed-by", ""))
            for uri in stanza.get("uris", "").split():
                yield types, uri, suites, keyring


_ONE_LINE = re.compile(r"(deb(?:-src)?)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)")


def _one_line_entries(text: str) -> Iterator[tuple[list[str], str, list[str], str | None]]:
    """Entries of a one-line sources.list: ``deb [signed-by=KEY ...] URI SUITE COMPONENT...``."""
    for line in text.splitlines():
        entry = _ONE_LINE.match(line.split("#", 1)[0].strip())
        if entry is None:
            continue
        options = dict(o.partition("=")[::2] for o in (entry[2] or "").split())
        keyring = _keyring(options.get("signed-by", ""))
        yield [entry[1]], entry[3], [entry[4]], keyring


def _deb822(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a deb822 file, field names in lower case, continuation lines joined."""
    stanza: dict[str, str] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif line[0] in " \t":
            if key:
                stanza[key] += "\n" + line.strip()
        else:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            stanza[key] = value.strip()


def _keyring(signed_by: str) -> str | None:
    """The first keyring file a Signed-By value names; None for fingerprints or a key block."""
    if "BEGIN PGP" in signed_by:
        return None
    paths = [p for p in re.split(r"[\s,]+", signed_by) if p.startswith("/")]
    return paths[0] if paths else None


def _is_debian_archive(uri: str, suites: Sequence[str]) -> bool:
    """Whether ``uri`` is a Debian archive (``.../debian``) and ``suites`` are not security's."""
    parts = urlsplit(uri)
    if parts.scheme.rsplit("+", 1)[-1] not in ("http", "https", "ftp"):
        return False
    if not suites or any(s.endswith("-security") or "/" in s for s in suites):
        return False
    return "debian" in parts.path.split("/")


# Read after the host's apt.conf.d: the hooks it runs after an update concern the host's lists
# (appstream, command-not-found, packagekit), and extra index files would only cost time.
_APT_CONF = """\
// streammatrix's own apt state: see apt.py
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
"""


class AptState:
    """apt-get with a configuration and state of its own, in ``directory``::

        sources.list        one line per suite asked for so far, on the host's Debian mirror
        apt.conf            read after the host's apt.conf.d (proxies there still apply)
        lists/              package lists of those suites
        cache/              apt's binary caches
        updated             its mtime: when the lists were last fetched
        ../apt.lock         held while apt-get runs on this state

    ``apt-get update`` runs when a suite is added or the lists are older than a day; the
    host's sources, lists, status and locks are never touched, so no root is needed.
    """

    def __init__(
        self, directory: Path, etc: Path = HOST_APT, keyrings: Sequence[Path] = DEBIAN_KEYRINGS
    ) -> None:
        self.directory = directory
        self.etc = etc
        self.keyrings = tuple(keyrings)

    @property
    def sources_list(self) -> Path:
        return self.directory / "sources.list"

    @property
    def stamp(self) -> Path:
        return self.directory / "updated"

    def options(self) -> list[str]:
        """apt-get's options that point every file it reads or writes here."""
        here = self.directory
        settings = {
            "Dir::Etc::SourceList": here / "sources.list",
            "Dir::Etc::SourceParts": "/dev/null",
            "Dir::Etc::Preferences": "/dev/null",
            "Dir::Etc::PreferencesParts": "/dev/null",
            "Dir::State::Lists": here / "lists",
            "Dir::Cache": here / "cache",
            "Dir::State::status": "/dev/null",
            "Debug::NoLocking": "1",  # apt's own locks are the host's; apt.lock guards this
            "Acquire::Languages": "none",
            "APT::Update::Error-Mode": "any",  # a suite that fails to update is an error
        }
        if os.geteuid() == 0:  # apt would drop to _apt, who cannot write here
            settings["APT::Sandbox::User"] = "root"
        argv = ["-c", str(here / "apt.conf")]
        for name, value in settings.items():
            argv += ["-o", f"{name}={value}"]
        return argv

    def download(self, packages: Sequence[str], dest: Path, origin: str) -> None:
        """``apt-get download`` the ``NAME/SUITE`` ``packages`` into ``dest``."""
        suites = {debian_package(p, origin)[1] for p in packages}
        if shutil.which("apt-get") is None:
            raise ProviderError(not_here("apt-get", origin))
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.directory.parent / f"{self.directory.name}.lock")):
            fresh = self._refresh(suites, origin)
            try:
                self._download(packages, dest, origin)
            except SourceUnreachable:
                raise
            except ProviderError:
                if fresh:
                    raise
                # Lists up to a day old may name a version the archive has since replaced.
                self._update(origin)
                self._download(packages, dest, origin)

    def _download(self, packages: Sequence[str], dest: Path, origin: str) -> None:
        argv = ["apt-get", *self.options(), "download", "-q", "--", *packages]
        run_tool(argv, origin=origin, what="apt-get download", cwd=dest)

    def _refresh(self, suites: set[str], origin: str) -> bool:
        """Update the lists if ``suites`` are new to them or they are old; True if it ran.

        A suite the update fails on is not kept. When suites asked for before fail (gone
        from the mirror), the update runs again with just ``suites``.
        """
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "apt.conf").write_text(_APT_CONF)
        mirror = host_mirror(self.etc, self.keyrings)
        try:
            before: str | None = self.sources_list.read_text()
        except FileNotFoundError:
            before = None
        lines = (ln.split() for ln in (before or "").splitlines())
        known = {ln[-2] for ln in lines if len(ln) >= 4 and _SUITE.fullmatch(ln[-2])}
        if before == mirror.sources_list(known | suites) and self._age() < LISTS_MAX_AGE:
            return False
        try:
            if known - suites:
                try:
                    self._update(origin, mirror.sources_list(known | suites))
                    return True
                except SourceUnreachable:
                    raise
                except ProviderError:
                    pass  # a suite asked for before may have left the mirror: drop the others
            self._update(origin, mirror.sources_list(suites))
            return True
        except BaseException:
            if before is None:
                self.sources_list.unlink(missing_ok=True)
            else:
                self.sources_list.write_text(before)
            raise

    def _update(self, origin: str, sources_list: str | None = None) -> None:
        """``apt-get update`` (with ``sources_list`` written first); the stamp says it worked."""
        self.stamp.unlink(missing_ok=True)
        if sources_list is not None:
            self.sources_list.write_text(sources_list)
        argv = ["apt-get", *self.options(), "update", "-q"]
        run_tool(argv, origin=origin, what="apt-get update")
        self.stamp.touch()

    def _age(self) -> float:
        try:
            return time.time() - self.stamp.stat().st_mtime
        except FileNotFoundError:
            return float("inf")
