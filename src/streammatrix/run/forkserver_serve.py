"""The fork server itself: what runs in the client's environment (see ``forkserver``).

The client's interpreter runs this file (``forkserver.BOOTSTRAP``), where ``streammatrix`` is
only the plugin: nothing but the standard library is imported at the top, and nothing of the
working directory or of this file's folder is importable.

Protocol, JSON lines over one socketpair (the server's stdout as it starts): ``{"ready": pid}``
or ``{"error": why}`` first; each ``{"run": {"args", "env", "cwd", "log"}, "id": i}`` is
answered by ``{"pid": n, "id": i}`` at once and ``{"exit": code, "id": i}`` when that child
ends (negative: killed by that signal). Several cells may run at once, each its own child.
``{"kill": signum, "id": i}`` signals that child's process group (without ``id``: every
running child's); end of file stops the server, and its children.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import select
import signal
import sys
import threading
import time

CHILD_FAILED = 3  # the child could not start pytest (pytest's own "internal error" code)
PROG = "python -m pytest"  # the name pytest gives itself when run as ``python -m pytest``
LONGEST_WAIT = 3600.0  # the longest single wait (select, Condition.wait); longer ones loop


def longest(left: float | None) -> float | None:
    """``left`` seconds as one wait may take them: at most LONGEST_WAIT, None is forever."""
    return None if left is None else min(left, LONGEST_WAIT)


# pytest's first step, done once here for every child: get_config (a plugin manager with
# pytest's own plugins registered and the options they add) depends only on the "-p no:NAME"
# arguments and the program name. Built per set of blocked plugins: (config, get_config's
# keyword arguments), or None where it cannot be (the child then builds its own).
_prepared: dict[tuple[str, ...], tuple[object, dict] | None] = {}


class Channel:
    """JSON lines over a file descriptor; sends may come from several threads."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer, self.lock = fd, b"", threading.Lock()

    def send(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self.lock:
            while data:
                data = data[os.write(self.fd, data) :]

    def ready(self) -> bool:
        return b"\n" in self.buffer

    def recv(self, timeout: float | None) -> dict | None:
        """The next message; None if none came within ``timeout``; EOFError at the end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            # select raises OverflowError beyond ~9.2e9 s: a longer timeout waits in slices
            if not select.select([self.fd], [], [], longest(left))[0]:
                if left is not None and left <= LONGEST_WAIT:
                    return None
                continue
            data = os.read(self.fd, 65536)
            if not data:
                raise EOFError(self.buffer.decode(errors="replace")[-2000:])
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:  # a Python too old to even read this file says why in plain text
            raise EOFError((line + self.buffer).decode(errors="replace")[-2000:]) from None


def _serve(modules: dict) -> None:
    channel = Channel(os.dup(1))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):  # nothing else may write into the channel
        os.dup2(null, fd)
    os.close(null)
    try:
        os.close(os.pidfd_open(os.getpid()))  # Linux 5.3+: how the server waits for a child
        _preload(modules["preload"], modules["plugins"])
        problems = _unsafe(channel.fd)
    except BaseException:
        import traceback

        problems = traceback.format_exc()
    if problems:
        return channel.send({"error": problems})
    channel.send({"ready": os.getpid()})
    children: dict[int, tuple[int, object]] = {}  # pidfd -> (pid, the run's id)
    try:
        while True:
            ready = [] if channel.ready() else select.select([channel.fd, *children], [], [])[0]
            for pidfd in [fd for fd in ready if fd in children]:
                pid, ident = children.pop(pidfd)
                os.close(pidfd)
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                channel.send({"exit": code, "id": ident})
            if channel.ready() or channel.fd in ready:
                message = channel.recv(0)
                if message and "run" in message:
                    _prepare(message["run"]["args"])
                    pid, pidfd = _fork(channel, message["run"], list(children))
                    children[pidfd] = (pid, message.get("id"))
                    channel.send({"pid": pid, "id": message.get("id")})
                elif message and "kill" in message:
                    for pid, ident in list(children.values()):
                        if message.get("id", ident) == ident:
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(pid, message["kill"])
    except EOFError:  # the runner is gone: so are its cells
        for pid, _ident in children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        for pid, _ident in children.values():
            os.waitpid(pid, 0)


def _preload(preload: list[str], plugins: list[str]) -> None:
    import gc
    import importlib.metadata

    import pytest  # noqa: F401  (the one import a fork server cannot do without)
    from _pytest import config

    # pytest's own plugins and what every cell imports later anyway (pdb for --pdb's plugin,
    # the idna codec for a client's first connection; pytest's start and asyncio's loop the rest)
    builtins = [f"_pytest.{name}" for name in config.default_plugins]
    later = ["pdb", "encodings.idna", "ctypes", "runpy", "faulthandler", "readline", "tomllib",
             "secrets", "_pytest._argcomplete"]  # fmt: skip
    for name in [*builtins, *later]:
        _import(name)
    entries, marked = list(plugins), set(plugins)  # what pytest will rewrite, like it marks it
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        rewritable = getattr(config, "_iter_rewritable_modules", lambda files: ())
        for dist in importlib.metadata.distributions():
            found = [
                e.value.split(":")[0].strip() for e in dist.entry_points if e.group == "pytest11"
            ]
            marked.update(rewritable(str(f) for f in dist.files or []) if found else ())
            marked.update(entry.split(".")[0] for entry in found)
            entries += found

    def plugin(name: str) -> bool:
        return any(name == m or name.startswith(f"{m}.") for m in marked)

    early = set(sys.modules)  # pytest imported these before marking plugins: so it does here
    for name in entries:  # imported for their dependencies, then forgotten
        _import(name)
    for name in [n for n in sys.modules if plugin(n) and n not in early]:
        del sys.modules[name]
    for name in preload:  # kept only if it needs no plugin (its copy would not be the child's)
        before = set(sys.modules)
        _import(name)
        new = set(sys.modules) - before
        if any(plugin(n) for n in new):
            for n in new:
                del sys.modules[n]
    gc.collect()
    gc.freeze()  # what every child shares stays shared, and its collector skips it


def _import(name: str) -> None:
    import importlib

    with contextlib.suppress(Exception):  # the child tries again, and says why in its log
        importlib.import_module(name)


def _unsafe(channel: int) -> str:
    """What a forked child would inherit broken: threads, sockets, an event loop."""
    problems, threads = [], len(os.listdir("/proc/self/task"))
    if threads > 1:
        problems.append(f"{threads} threads")
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:") and int(fd) != channel:
                problems.append(f"a socket (fd {fd})")
    events = getattr(sys.modules.get("asyncio"), "events", None)
    policy = getattr(events, "_event_loop_policy", None)
    if getattr(getattr(policy, "_local", None), "_loop", None) is not None:
        problems.append("an asyncio event loop")
    return "; ".join(f"the imports left {p}" for p in problems)


def blocked(args: list[str]) -> tuple[str, ...]:
    """The "no:NAME" plugin arguments of ``args``, read as pytest's ``consider_preparse`` reads
    them: ``-p no:NAME`` and ``-pno:NAME``."""
    found, i = [], 0
    while i < len(args):
        opt, i = args[i], i + 1
        if opt == "-p":
            if i >= len(args):
                break
            parg, i = args[i], i + 1
        elif opt.startswith("-p"):
            parg = opt[2:]
        else:
            continue
        if parg.strip().startswith("no:"):
            found.append(parg.strip())
    return tuple(found)


def _prepare(args: list[str]) -> None:
    """Build the config that children with ``args`` start from, once per blocked set."""
    import gc
    import inspect

    key = blocked(args)
    if key in _prepared:
        return
    _prepared[key] = None
    with contextlib.suppress(Exception):  # the child builds its own, and says why it failed
        from _pytest import config

        params = list(inspect.signature(config.get_config).parameters)
        if params[:2] == ["args", "plugins"]:
            kwargs = {"prog": PROG} if "prog" in params else {}
            argv = [arg for name in key for arg in ("-p", name)]
            _prepared[key] = (config.get_config(argv, None, **kwargs), kwargs)
    gc.freeze()


def use_prepared(key: tuple[str, ...]) -> None:
    """Let this child's first ``get_config`` take the prepared config when it asks for what the
    config was prepared for (the same blocked plugins, no plugin objects, the same program
    name); every other call, and every later one, builds its own as pytest does."""
    prepared = _prepared.get(key)
    if prepared is None or os.environ.get("PYTEST_DEBUG"):  # read when a manager is made
        return
    from _pytest import config as module

    original, (config, kwargs) = module.get_config, prepared

    def get_config(args=None, plugins=None, **given):
        module.get_config = original
        if plugins or given != kwargs or blocked(list(args or ())) != key:
            return original(args, plugins, **given)
        params = type(config.invocation_params)
        config.invocation_params = params(args=args or (), plugins=None, dir=pathlib.Path.cwd())
        return config

    module.get_config = get_config


def _fork(channel: Channel, request: dict, inherited: list[int]) -> tuple[int, int]:
    """Fork the child that runs ``request``: its pid and a pidfd to wait for it."""
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = CHILD_FAILED
        try:
            for fd in inherited:  # the other children's pidfds are the server's business
                os.close(fd)
            code = _child(server, channel.fd, request)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    return pid, os.pidfd_open(pid)


def _child(server: int, channel: int, request: dict) -> int:
    import atexit
    import ctypes
    import runpy

    os.setpgid(0, 0)
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != server:  # the server died before prctl took effect
        return CHILD_FAILED
    os.close(channel)
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    for source, fd in ((null, 0), (log, 1), (log, 2)):
        os.dup2(source, fd)
    os.close(null)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-m", *request["args"]]
    use_prepared(blocked(request["args"]))
    if not getattr(sys.flags, "safe_path", False):
        sys.path.insert(0, os.getcwd())  # as `python -m` does
    try:
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
