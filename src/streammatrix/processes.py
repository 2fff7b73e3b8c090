"""Process lifecycle, one home: every child the runner starts, and how they all end.

* :func:`spawn` starts a child (a server binary, a cell's pytest) in a process group of its own,
  tied to the runner with ``PR_SET_PDEATHSIG`` on Linux: even a runner killed outright (SIGKILL)
  takes its children along.
* Everything that must not outlive the run registers here: servers (anything with ``stop()``)
  with :func:`track`, cell processes with :func:`track_process`. :func:`stop_everything` ends
  them all; it runs at exit and when :func:`stop_on_signals` sees SIGINT/SIGTERM/SIGHUP.
* :func:`interrupted` tells code that is still starting something that the run is being
  stopped, so it cleans up what it made instead of handing it on.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Protocol, TypeVar

T = TypeVar("T")
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL

_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class Stoppable(Protocol):
    def stop(self) -> None: ...


_lock = threading.Lock()
_servers: dict[int, Stoppable] = {}
_processes: set[subprocess.Popen[bytes]] = set()
_interrupted = threading.Event()
_signalled = threading.Event()  # a signal has interrupted this run: later ones are ignored


def _child_setup(parent: int) -> Callable[[], None]:
    """What the child runs before exec: a process group of its own, and death with its parent."""
    prctl = _PRCTL

    def setup() -> None:
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGKILL)

    return setup


# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process. A
# child started from a short-lived thread (a worker pool) is therefore forked from one
# long-lived thread instead, so that it lives as long as the process that started it.
_spawner: ThreadPoolExecutor | None = None


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    stdout: IO[str] | IO[bytes] | int,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a tied child (own process group, dies with the runner)."""

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            close_fds=True,
            preexec_fn=_child_setup(os.getpid()),
        )

    if threading.current_thread() is threading.main_thread():
        return popen()
    global _spawner
    with _lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="streammatrix-spawn")
    return _spawner.submit(popen).result()


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group ``pid`` leads; a group that is gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_group(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers, and reap the child."""
    if proc.poll() is None:
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
    else:  # the leader is gone; what it started may not be
        signal_group(proc.pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def track(server: Stoppable) -> None:
    with _lock:
        _servers[id(server)] = server


def tracked() -> list[Stoppable]:
    """The servers started and not yet stopped."""
    with _lock:
        return list(_servers.values())


def untrack(server: Stoppable) -> None:
    with _lock:
        _servers.pop(id(server), None)


def track_process(proc: subprocess.Popen[bytes]) -> None:
    with _lock:
        _processes.add(proc)
    if _interrupted.is_set():  # started while the run was being stopped
        stop_group(proc)


def untrack_process(proc: subprocess.Popen[bytes]) -> None:
    with _lock:
        _processes.discard(proc)


def interrupted() -> bool:
    """True once the run is being stopped (a signal, Ctrl-C): start nothing new."""
    return _interrupted.is_set()


def arm() -> None:
    """A new run starts: an earlier interruption no longer applies."""
    _interrupted.clear()
    _signalled.clear()


def interrupt() -> None:
    """The run is being stopped: mark it so, and end every cell process now."""
    _interrupted.set()
    stop_processes()


def side_by_side(stop: Callable[[T], object], items: Sequence[T]) -> None:
    """Call ``stop`` on every item at once (each waits for its own process to exit) and return
    when all have: stopping several processes costs the slowest stop, not their sum."""
    if items:
        with ThreadPoolExecutor(len(items), thread_name_prefix="stop") as stopping:
            list(stopping.map(stop, items))


def stop_processes() -> None:
    """End every tracked cell process now."""
    with _lock:
        running = list(_processes)
    for proc in running:
        stop_group(proc)


def stop_servers() -> None:
    """Stop every tracked server; one that fails to stop does not keep the others running."""
    with _lock:
        servers = list(_servers.values())
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()
    with _lock:
        for server in servers:
            _servers.pop(id(server), None)


def stop_everything() -> None:
    stop_processes()
    stop_servers()


atexit.register(stop_everything)


_depth = 0  # stop_on_signals blocks open, one inside another


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt for the block, so every ``finally`` runs.

    The first signal interrupts; further ones while the block cleans up are ignored, so a
    second Ctrl-C or SIGTERM cannot cut the clean-up short. The handlers are restored only
    after every server and cell process of the block is gone. A block inside another that ends
    without an interruption leaves the servers to the enclosing one (the run's servers serve
    the grid's block, then the bisection's); its cell processes it ends.
    """
    global _depth
    fired = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if fired.is_set() or _signalled.is_set():  # one signal ends the run, once
            return
        fired.set()
        _signalled.set()
        _interrupted.set()
        raise KeyboardInterrupt(f"signal {signum}")

    previous = _install(on_signal)
    _depth += 1
    try:
        yield
    except BaseException:
        fired.set()  # from here on a signal no longer interrupts the clean-up
        interrupt()
        raise
    finally:
        fired.set()
        _depth -= 1
        try:
            if _depth == 0 or _interrupted.is_set():
                stop_everything()
            else:
                stop_processes()
        finally:
            _restore(previous)


@contextlib.contextmanager
def signals_noted() -> Iterator[threading.Event]:
    """For a block that must finish once begun (writing the report): SIGINT/SIGTERM/SIGHUP
    only set the event yielded, and the block goes on; the caller then says it was
    interrupted. A :func:`stop_on_signals` block inside it still stops at a signal."""
    noted = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        noted.set()

    previous = _install(on_signal)
    try:
        yield noted
    finally:
        _restore(previous)


_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _install(handler: Callable[[int, object], None]) -> dict[int, object]:
    previous = {}
    for sig in _SIGNALS:
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
