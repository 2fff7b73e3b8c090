"""A fork server: one warm interpreter per client environment that forks each cell's pytest.

A plain cell (``python -m pytest`` in the client's environment) spends ~0.3 s before its first
test starting the interpreter and importing pytest, its plugins and the client. A fork server
(``forkserver_serve``) does that once. It runs in the client's environment with the environment
its cells share (the interpreter reads PYTHON* variables only at start-up, so every request must
carry the same ones), imports pytest, pytest's own plugins, the client and the dependencies of
the plugins, and waits. For each cell it forks a child that takes a process group of its own and
PR_SET_PDEATHSIG (it dies with the server, which ``processes.spawn`` ties to the runner), the
cell's ``os.environ``, working directory, ``sys.argv`` and ``sys.path[0]`` as ``python -m
pytest`` has them, stdin from /dev/null, stdout and stderr appended to the cell's log; it runs
pytest's ``__main__`` as ``python -m pytest`` does, the atexit handlers, and ``os._exit``.

pytest's first step, ``get_config`` (a plugin manager with pytest's own plugins and their
options), depends only on the ``-p no:NAME`` arguments and the program name: the server makes it
once per such set and a child's first ``get_config`` takes it (~10 ms of every cell); a child
with PYTEST_DEBUG, plugin objects or another program name, and a second ``pytest.main`` in a
child, build their own.

What pytest rewrites asserts in must be imported by the child: the suite (never imported by the
server), the ``-p`` plugins and the entry-point plugins (imported for their dependencies, then
forgotten). A module that fails to import in the server simply fails again in the child, as in a
plain run. Before serving, the server checks that it holds nothing a child would inherit broken
(a thread, a socket besides its channel, an event loop) and refuses to start if it does.
Children share the server's hash seed (a plain run draws one per cell).

One server serves several cells at once (each run has an id, each cell its own child), so a
run needs one server per interpreter, not one per worker.

A server that cannot start (no pytest in the environment, Linux older than 5.3, an unsafe
import) raises :class:`ForkServerError` from :meth:`ForkServer.start`: the caller then runs
``python -m pytest`` as before. A crashing or hanging child takes only itself down, not the
cells beside it. The server is tracked like a spawned cell (``processes.track_process``): the
run's interruption ends it, and its running cells with it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time

from streammatrix import processes
from streammatrix.errors import StreamMatrixError
from streammatrix.run import forkserver_serve
from streammatrix.run.forkserver_serve import Channel, longest

# How the client's interpreter runs the server's file: as a script, but without its folder (or
# the working directory) on sys.path, where the runner's modules would shadow others.
BOOTSTRAP = (
    "import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; path = sys.argv.pop(1); "
    "exec(compile(open(path).read(), path, 'exec'))"
)
START_TIMEOUT = 60.0
KILL_GRACE = 5.0


class ForkServerError(StreamMatrixError):
    """The fork server could not start, or broke; the message says why."""


class OtherSettings(ForkServerError):
    """The cell's PYTHON* settings differ from the server's: it must be spawned."""


class CellLost(ForkServerError):
    """The fork server broke while it ran the cell: the cell's exit code is lost."""


class ForkServer:
    """The runner's handle on one fork server; :meth:`run` may be called from several threads
    at once, each call one cell (one child of the server)."""

    def __init__(self, process: subprocess.Popen[bytes], sock: socket.socket, env: dict) -> None:
        self.process, self.socket, self.env = process, sock, dict(env)
        self.channel = Channel(sock.fileno())
        self.python = ""  # the interpreter it runs
        self.running = 0  # runs under way
        self._ids = itertools.count(1)
        self._inbox: dict[object, list[dict]] = {}  # messages per run id, read by any run
        self._reading = False  # a thread is reading the channel for every run
        self._broken = ""  # why the channel is unusable
        self._cond = threading.Condition()

    @classmethod
    def start(
        cls, python: str | os.PathLike, env: dict[str, str], *,
        preload: tuple[str, ...] = (), plugins: tuple[str, ...] = (),
    ) -> ForkServer:  # fmt: skip
        """A server on ``python`` with ``env`` that imported ``preload`` and the dependencies
        of ``plugins`` (what cells load with ``-p``); ForkServerError if it cannot serve."""
        ours, theirs = socket.socketpair()
        modules = json.dumps({"preload": list(preload), "plugins": list(plugins)})
        argv = [str(python), "-c", BOOTSTRAP, forkserver_serve.__file__, modules]
        try:  # the server's stdout (and stderr, until it takes them off) is the channel
            process = processes.spawn(argv, env=env, stdout=theirs.fileno())
        except OSError as exc:
            ours.close()
            raise ForkServerError(f"cannot run {python}: {exc}") from None
        finally:
            theirs.close()
        server = cls(process, ours, env)
        server.python = str(python)
        # the run's interruption ends it like a spawned cell, and its running cell with it
        processes.track_process(process)
        try:
            hello = server._recv(START_TIMEOUT)
            if hello is None or "ready" not in hello:
                why = "no answer" if hello is None else hello.get("error", hello)
                raise ForkServerError(f"the fork server did not start: {why}")
        except BaseException:
            server.close()
            raise
        return server

    def run(
        self, args: list[str], env: dict[str, str], cwd: str | os.PathLike,
        log_path: str | os.PathLike, timeout: float | None,
    ) -> int | None:  # fmt: skip
        """``python -m pytest *args`` in a fresh child: its exit code, None when timed out.
        ForkServerError if the server cannot start it, CellLost if it broke while it ran."""
        keys = {k for k in {*env, *self.env} if k.startswith("PYTHON")}
        differ = sorted(k for k in keys if env.get(k) != self.env.get(k))
        if differ:
            raise OtherSettings(f"the fork server was started with other {', '.join(differ)}")
        ident = next(self._ids)
        with self._cond:
            self.running += 1
        try:
            request = {"args": list(args), "env": env, "cwd": str(cwd), "log": str(log_path)}
            self._send({"run": request, "id": ident})
            if self._recv(START_TIMEOUT, ident, "pid") is None:
                raise ForkServerError(f"the fork server did not start the cell of run {ident}")
            try:
                reply = self._recv(timeout, ident)
                if reply is not None:
                    return reply["exit"]
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    self.kill_cell(sig, ident)
                    if self._recv(KILL_GRACE, ident) is not None:
                        return None
            except ForkServerError as exc:
                raise CellLost(str(exc)) from None
            self.close()
            raise CellLost(f"the fork server did not reap the cell of run {ident}")
        finally:
            with self._cond:
                self.running -= 1
                self._inbox.pop(ident, None)

    def kill_cell(self, sig: int = signal.SIGKILL, run: int | None = None) -> None:
        """Signal the process group of run ``run``'s cell (None: every running cell's); safe
        from any thread, and when none runs."""
        with contextlib.suppress(ForkServerError):  # a gone server took its cells
            self._send({"kill": int(sig), **({} if run is None else {"id": run})})

    def close(self) -> None:
        """Stop the server (a running cell dies with it, a waiting run() raises); idempotent."""
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)  # the end of file the server stops at
        try:
            self.process.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            processes.signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        processes.untrack_process(self.process)
        self.socket.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, message: dict) -> None:
        try:
            self._open()
            self.channel.send(message)
        except OSError as exc:
            raise ForkServerError(f"the fork server is gone: {exc}") from None

    def _recv(self, timeout: float | None, ident: object = None, expect: str = "") -> dict | None:
        """The next message for run ``ident`` (None: the server's own); None after
        ``timeout``. Whichever waiting run reads the channel files what it reads for the
        others."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._inbox.get(ident):
                if self._broken:
                    raise ForkServerError(self._broken)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if left == 0.0:
                    return None
                if self._reading:
                    self._cond.wait(longest(left))
                    continue
                self._reading = True
                self._cond.release()
                message, broken = None, ""
                try:
                    self._open()
                    message = self.channel.recv(left)
                except (EOFError, OSError) as exc:
                    broken = f"the fork server is gone: {exc}"
                finally:
                    self._cond.acquire()
                    self._reading = False
                    self._broken = self._broken or broken
                    if message is not None:
                        self._inbox.setdefault(message.get("id"), []).append(message)
                    self._cond.notify_all()
            message = self._inbox[ident].pop(0)
        if expect and expect not in message:
            raise ForkServerError(f"the fork server answered {message!r}, not {expect!r}")
        return message

    def _open(self) -> None:
        if self.socket.fileno() < 0:
            raise OSError("closed")
