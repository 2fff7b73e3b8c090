"""The binary provider: a local server process per entry, from a binary :mod:`sources` fetched.

Each server listens on a free port of 127.0.0.1, keeps nothing on disk (``--save ""
--appendonly no``, its own temporary ``--dir``) and writes its output to ``server.log`` there.
It runs in a process group of its own and, on Linux, gets SIGKILL when the process that started
it dies (``PR_SET_PDEATHSIG``), so a runner that is killed outright leaves no server behind;
:meth:`BinaryServer.stop` and :mod:`streammatrix.processes` cover every other ending,
and :func:`reap` removes the directories a killed runner left.

What the server is comes from ``INFO server``; a row's ``version`` must match it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from streammatrix import processes
from streammatrix.errors import ServerStartError
from streammatrix.servers import base
from streammatrix.servers.base import ServerIdentity
from streammatrix.servers.base import free_port as _free_port
from streammatrix.servers.binary import sources
from streammatrix.versions import matches_claim

if TYPE_CHECKING:
    from streammatrix.config.model import ServerSpec

HOST = "127.0.0.1"
PORT_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
WORKDIR_PREFIX = "streammatrix-server-"  # + "<runner pid>-<entry>-": see reap()


@dataclass(eq=False)
class BinaryServer(base.Started):
    """One running server process; :meth:`stop` ends it and removes its directory."""

    kind: ClassVar[str] = "binary"

    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    binary: sources.Binary | None = None
    labels: dict[str, str] = field(default_factory=dict)
    _stopped: bool = field(default=False, repr=False)

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None, "a server has its directory from the start"
        return self.workdir / "server.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self, tail: int = 50) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def stop(self) -> None:
        """SIGTERM its process group, SIGKILL it if it lingers, remove its directory. Idempotent."""
        if self._stopped:
            return
        process = self.process
        if process is not None:
            processes.stop_group(process)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        processes.untrack(self)
        self._stopped = True  # only now: a signal that interrupts stop() lets stop_all() finish it


class BinaryProvider:
    """Starts servers from their ``binary:`` source; fetched binaries are cached across runs."""

    kind = "binary"

    def kind_of(self, spec: ServerSpec) -> str:
        return self.kind

    def __init__(self, cache_dir: str | Path | None = None, start_timeout: float = 10.0) -> None:
        self.cache_dir = cache_dir
        self.start_timeout = start_timeout
        reap()

    def start(
        self, spec: ServerSpec, labels: Mapping[str, str] | None = None, *, cluster: bool = False
    ) -> BinaryServer:
        """Start ``spec``, wait until it answers, check its version; raise ServerStartError.
        ``cluster``: as a cluster node (see :meth:`streammatrix.servers.base.Provider.start`)."""
        binary = sources.fetch(spec, self.cache_dir)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            server = self._launch(spec, binary, labels, cluster)
            try:
                self._ready(server)
            except ServerStartError as exc:
                server.stop()
                if attempt < PORT_ATTEMPTS and "already in use" in str(exc):
                    continue
                raise ServerStartError(
                    f"server {spec.name!r} on port {server.port}: {exc}"
                ) from None
            except BaseException:
                server.stop()
                raise
            return server
        raise AssertionError("unreachable")

    def _launch(
        self,
        spec: ServerSpec,
        binary: sources.Binary,
        labels: Mapping[str, str] | None,
        cluster: bool = False,
    ) -> BinaryServer:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", spec.name)
        workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-{name}-"))
        port = _free_port(cluster_bus=True) if cluster else _free_port()
        args = [
            *("--bind", HOST, "--port", str(port), "--dir", str(workdir)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *(base.CLUSTER_FLAGS if cluster else ()),
            *spec.args,
        ]
        server = BinaryServer(spec, HOST, port, workdir=workdir, binary=binary)
        server.labels = dict(labels or {})
        try:
            with open(server.log_path, "wb") as log:
                server.process = _spawn(binary.command(args), {**os.environ, **binary.env()}, log)
        except OSError as exc:
            server.stop()
            raise ServerStartError(
                f"server {spec.name!r}: cannot run {binary.executable}: {exc}"
            ) from None
        processes.track(server)
        if processes.interrupted():  # the run was stopped while this server was being started
            server.stop()
            raise ServerStartError(f"server {spec.name!r}: interrupted before it started")
        return server

    def _ready(self, server: BinaryServer) -> None:
        base.wait_ready(
            server.host,
            server.port,
            timeout=self.start_timeout,
            alive=server.alive,
            describe=lambda: f"last lines of {server.log_path}:\n{server.logs()}",
        )
        try:
            server.identity = ServerIdentity.probe(server.host, server.port)
        except (OSError, ConnectionError) as exc:
            raise ServerStartError(f"answered PING but not INFO server: {exc}") from None
        claimed, actual = server.spec.version, server.identity.version
        if claimed and not matches_claim(claimed, actual):
            raise ServerStartError(
                f"the row claims version {claimed} but the server reports "
                f"{server.identity.name} {actual or '(no version)'}"
            )


def reap() -> list[Path]:
    """Remove the directories of servers whose runner was killed outright; return them.

    Such a runner could not clean up, and PR_SET_PDEATHSIG already ended its servers.
    """
    removed = []
    for workdir in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        match = re.match(rf"{WORKDIR_PREFIX}(\d+)-", workdir.name)
        if match and not processes.pid_alive(int(match.group(1))):
            shutil.rmtree(workdir, ignore_errors=True)
            removed.append(workdir)
    return removed


def _spawn(argv: list[str], env: dict[str, str], log: object) -> subprocess.Popen[bytes]:
    return processes.spawn(argv, env=env, stdout=log)  # type: ignore[arg-type]
