"""A fetched server binary and the shared libraries it loads, as the dynamic loader sees them.

:class:`Binary` says how to run the server: directly, with ``LD_LIBRARY_PATH`` pointing into the
unpacked packages, or through a suite's own ``ld-linux`` loader when the packages bring a C
library. The loader's own listing (``ldd``, or ``ld-linux --list``) tells which libraries it
finds and which it does not; a missing one becomes a message that names the Debian package to
add to ``libs:``.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from streammatrix.errors import ProviderError

if TYPE_CHECKING:
    from streammatrix.config.model import BinarySource

_TRIPLET = f"{platform.machine()}-linux-gnu"
# Where unpacked packages keep shared libraries, relative to the root they are unpacked into.
LIB_DIRS = (f"usr/lib/{_TRIPLET}", f"lib/{_TRIPLET}", "usr/lib", "lib", "usr/lib64", "lib64")


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


def check(binary: Binary, suite: str) -> None:
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


def holds_libraries(directory: Path) -> bool:
    """Whether ``directory`` exists and holds at least one shared library."""
    return directory.is_dir() and any(
        p.name.startswith("lib") and (p.name.endswith(".so") or ".so." in p.name)
        for p in directory.iterdir()
    )


def suite_hint(source: BinarySource) -> str:
    """The Debian suite to suggest in messages about missing libraries."""
    for package in (source.package, *source.libs) if source.kind == "debian" else source.libs:
        if "/" in package:
            return package.split("/", 1)[1]
    return "SUITE"
