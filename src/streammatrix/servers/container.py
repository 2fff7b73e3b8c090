"""The Docker provider: one throwaway container per server, through the Docker SDK for Python.

Every container carries three labels: ``io.streammatrix.runner=streammatrix``, the run id of the
process that started it (``<hostname>:<pid>:<process start time>``) and the server entry's name.
A container is removed when its server stops, whatever ends the block (success, failure,
exception, SIGINT/SIGTERM through :func:`base.stop_on_signals`). A process that was killed
outright cannot clean up; :func:`reap` removes what it left, and every new
:class:`DockerProvider` calls it.

The server's host port is chosen by the engine, on 127.0.0.1 only, and read back from the
container. What the server is comes from ``INFO server``, never from the image tag.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import docker
import requests
from docker.errors import DockerException, ImageNotFound, NotFound

from streammatrix.servers import base
from streammatrix.servers.base import ProviderError, ServerIdentity, ServerStartError

if TYPE_CHECKING:
    from docker.models.containers import Container

    from streammatrix.config import ServerSpec

log = logging.getLogger(__name__)

RUNNER = "streammatrix"
RUNNER_LABEL = f"{base.LABEL_PREFIX}.runner"
RUN_ID_LABEL = f"{base.LABEL_PREFIX}.run-id"
SERVER_LABEL = f"{base.LABEL_PREFIX}.server"
CONTAINER_PORT = "6379/tcp"
HOST = "127.0.0.1"
# Flags every server gets: nothing kept on disk; inside its container it listens on every
# address, and the port mapping alone decides who reaches it (127.0.0.1 of this host).
SERVER_FLAGS = (
    *("--port", "6379"),
    *("--bind", "0.0.0.0"),
    *("--protected-mode", "no"),
    *("--save", ""),
    *("--appendonly", "no"),
)
_ENGINE_ERRORS = (DockerException, requests.RequestException, OSError)
_PULL_CHATTER = ("Downloading", "Extracting", "Waiting", "Verifying Checksum")  # per-chunk events

atexit.register(base.stop_all)


class ImageUnavailable(ProviderError):
    """A server's image is not present locally and could not be pulled."""

    def __init__(self, spec: ServerSpec, image: str, reason: str) -> None:
        hint = (
            "build it offline with `nox -s images`"
            if spec.binary
            else "make a registry reachable, or give the entry a `binary:` source"
        )
        super().__init__(
            f"server {spec.name!r}: image {image} is not present and could not be pulled "
            f"({reason}); {hint}"
        )
        self.spec = spec
        self.image = image


def engine_address() -> str:
    """Where the Docker SDK looks for the engine (DOCKER_HOST, else the default socket)."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class EngineUnavailable(ProviderError):
    """The Docker engine does not answer; names the address that was tried."""

    def __init__(self, reason: str, address: str | None = None) -> None:
        self.address = address or engine_address()
        self.reason = reason
        super().__init__(
            f"the Docker engine at {self.address} does not answer ({reason}); start it, "
            "point DOCKER_HOST at it, or use the binary provider"
        )


def engine_error(exc: BaseException) -> EngineUnavailable:
    """The engine error for an exception the SDK (or requests beneath it) raised."""
    reason = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return EngineUnavailable(str(reason).strip())


def connect(timeout: float = 60.0, ping_timeout: float = 5.0) -> docker.DockerClient:
    """A client for the engine the environment names, pinged within ``ping_timeout`` seconds."""
    try:
        client = docker.from_env(timeout=ping_timeout)
        client.ping()
    except _ENGINE_ERRORS as exc:
        raise engine_error(exc) from exc
    client.api.timeout = timeout
    return client


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) from /proc; None once it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie has ended too


def current_run_id() -> str:
    """``<hostname>:<pid>:<start time>`` of this process: unique even when pids are reused."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '-'}"


def run_is_alive(run_id: str) -> bool:
    """False only when ``run_id`` names a process on this host that is no longer running."""
    host, _, rest = run_id.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's (or a foreign) run: not ours to judge
    if started == "-":  # no /proc where it was recorded: liveness by signal 0 only
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return _start_time(int(pid)) == started


def reap(client: docker.DockerClient) -> list[str]:
    """Remove the containers that runs no longer alive on this host left; return their names."""
    removed: list[str] = []
    found = client.containers.list(all=True, filters={"label": f"{RUNNER_LABEL}={RUNNER}"})
    for container in found:
        labels = container.labels or {}
        run_id = labels.get(RUN_ID_LABEL, "")
        if not run_id or run_is_alive(run_id):
            continue
        try:
            container.remove(force=True, v=True)
        except NotFound:
            continue  # another process reaped it first
        removed.append(container.name)
        log.warning(
            "removed container %s (server %s) left behind by run %s, which is no longer alive",
            container.name,
            labels.get(SERVER_LABEL, "?"),
            run_id,
        )
    return removed


def version_matches(claimed: str, measured: str) -> bool:
    """``"7.0"`` matches ``"7.0.15"``; ``"7.0.1"`` does not (prefix on dotted components)."""
    want = claimed.strip().split(".")
    return measured.strip().split(".")[: len(want)] == want


@dataclass(eq=False)
class DockerServer(base.Started):
    """A server running in a container; :meth:`stop` removes the container."""

    kind: ClassVar[str] = "docker"

    container: Container | None = field(default=None, repr=False)
    image: str = ""
    _stopped: bool = field(default=False, repr=False)

    def alive(self) -> bool:
        if self._stopped or self.container is None:
            return False
        try:
            self.container.reload()
        except _ENGINE_ERRORS:
            return False
        return self.container.status == "running"

    def logs(self, tail: int = 50) -> str:
        if self.container is None:
            return ""
        try:
            return self.container.logs(tail=tail).decode(errors="replace")
        except _ENGINE_ERRORS as exc:
            return f"(no logs: {exc})"

    def describe(self) -> str:
        name = self.container.name if self.container else "?"
        return f"container {name} (image {self.image}), last log lines:\n{self.logs()}"

    def stop(self) -> None:
        """Remove the container (force); safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.container is not None:
                self.container.remove(force=True, v=True)
        except NotFound:
            pass
        except _ENGINE_ERRORS as exc:  # never hide what ended the block; the next reap retries
            log.warning("could not remove container %s: %s", self.container.name, exc)
        finally:
            base.untrack(self)


class DockerProvider:
    """Starts each server entry's ``image`` as a container on a random 127.0.0.1 port."""

    kind = "docker"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        start_timeout: float = 30.0,
        run_id: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client if client is not None else connect()
        self.start_timeout = start_timeout
        self.run_id = run_id or current_run_id()
        self.progress = progress or log.info
        self._present: set[str] = set()
        try:
            self.reaped = reap(self.client)
        except _ENGINE_ERRORS as exc:
            raise engine_error(exc) from exc

    def command(self, spec: ServerSpec) -> list[str]:
        return [*SERVER_FLAGS, *spec.args]

    def ensure_image(self, spec: ServerSpec) -> str:
        """The spec's image, pulled first if it is not present; ImageUnavailable otherwise."""
        if not spec.image:
            raise ProviderError(f"server {spec.name!r} has no `image:`; Docker cannot start it")
        image = spec.image
        if image in self._present:
            return image
        try:
            self.client.images.get(image)
        except ImageNotFound:
            self._pull(spec, image)
        except _ENGINE_ERRORS as exc:
            raise engine_error(exc) from exc
        self._present.add(image)
        return image

    def _pull(self, spec: ServerSpec, image: str) -> None:
        repository, tag = docker.utils.parse_repository_tag(image)
        self.progress(f"pulling {image} for server {spec.name!r}")
        try:
            for event in self.client.api.pull(
                repository, tag=tag or "latest", stream=True, decode=True
            ):
                if "error" in event:
                    raise ImageUnavailable(spec, image, str(event["error"]).strip())
                status = event.get("status", "")
                if status and status not in _PULL_CHATTER:
                    item = f"{event['id']}: " if event.get("id") else ""
                    self.progress(f"{image}: {item}{status}")
        except (DockerException, requests.RequestException) as exc:
            reason = getattr(exc, "explanation", None) or str(exc)
            raise ImageUnavailable(spec, image, str(reason).strip()) from exc

    def start(self, spec: ServerSpec, labels: Mapping[str, str] | None = None) -> DockerServer:
        image = self.ensure_image(spec)
        name = f"{RUNNER}-{re.sub(r'[^A-Za-z0-9_.-]', '-', spec.name)}-{uuid.uuid4().hex[:8]}"
        all_labels = {
            **(labels or {}),
            RUNNER_LABEL: RUNNER,
            RUN_ID_LABEL: self.run_id,
            SERVER_LABEL: spec.name,
        }
        server = DockerServer(spec, HOST, 0, image=image)
        base.track(server)
        try:
            server.container = self._create(spec, image, name, all_labels)
            self._start(server)
        except BaseException:
            server.stop()
            if server.container is None:  # interrupted between the engine and us: by name
                self._remove_named(name)
            raise
        return server

    def _create(self, spec: ServerSpec, image: str, name: str, labels: dict[str, str]) -> Container:
        try:
            return self.client.containers.create(
                image,
                command=self.command(spec),
                name=name,
                detach=True,
                labels=labels,
                ports={CONTAINER_PORT: (HOST, None)},
            )
        except requests.RequestException as exc:
            raise engine_error(exc) from exc
        except DockerException as exc:
            raise ServerStartError(
                f"server {spec.name!r}: cannot create a container: {exc}"
            ) from exc

    def _start(self, server: DockerServer) -> None:
        spec, container = server.spec, server.container
        assert container is not None
        try:
            container.start()
            server.port = self._host_port(server)
            base.wait_ready(
                HOST,
                server.port,
                timeout=self.start_timeout,
                alive=server.alive,
                describe=server.describe,
            )
            server.identity = ServerIdentity.probe(HOST, server.port)
        except ServerStartError as exc:
            raise ServerStartError(f"server {spec.name!r}: {exc}") from exc
        except requests.RequestException as exc:
            raise engine_error(exc) from exc
        except (DockerException, OSError) as exc:
            raise ServerStartError(f"server {spec.name!r}: {exc}\n{server.describe()}") from exc
        if spec.version and not version_matches(spec.version, server.identity.version):
            raise ServerStartError(
                f"server {spec.name!r} claims version {spec.version}, but image {server.image} "
                f"runs {server.identity.name} {server.identity.version} (INFO server)"
            )

    def _host_port(self, server: DockerServer) -> int:
        """The host port the engine mapped to 6379, read back from the container."""
        container = server.container
        assert container is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            container.reload()
            bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(CONTAINER_PORT)
            if bindings:
                return int(bindings[0]["HostPort"])
            if container.status != "running":
                raise ServerStartError(f"exited before its port was mapped\n{server.describe()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"no host port mapped for {CONTAINER_PORT}")
            time.sleep(0.01)

    def _remove_named(self, name: str) -> None:
        try:
            self.client.containers.get(name).remove(force=True, v=True)
        except (*_ENGINE_ERRORS, NotFound):
            pass
