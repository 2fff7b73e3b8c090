"""One virtualenv per client version and Python, created once and reused while it still fits.

A cell's environment holds only what the suite needs: the client under test, pytest and
pytest-asyncio. The runner's own package reaches it through PYTHONPATH, never through an install,
so the client's dependencies are exactly what a user of that client would get.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

from filelock import FileLock
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from streammatrix.config.model import ClientSpec
from streammatrix.errors import EnvError, PythonNotFound
from streammatrix.run import parsers

SUITE_REQUIREMENTS = ("pytest", "pytest-asyncio", "packaging")
STAMP = ".streammatrix-env.json"
# An environment for a floating specifier ("latest", "5.0.*") is resolved again after this
# long, so a newly released client is picked up by the next nightly run on a kept machine.
FLOATING_MAX_AGE = 20 * 3600.0


def pinned(client: ClientSpec) -> bool:
    """True when the specifier names one exact version (``==4.6.0``), so reuse never goes stale."""
    return (
        client.version.startswith("==")
        and "*" not in client.version
        and "," not in (client.version)
    )


@dataclass(frozen=True)
class ClientEnv:
    client: ClientSpec
    python_version: str
    location: Path
    client_version: str  # what pip really installed
    reused: bool = False
    parser: str | None = None  # the parser the environment is made for (None: no claim)
    parser_class: str = ""  # the parser class a connection of the client gets there
    parser_version: str = ""  # the parser's distribution as installed: "hiredis 3.1.0"

    @property
    def python(self) -> Path:
        return self.location / "bin" / "python"


def env_name(client: ClientSpec, python: str, parser: str | None = None) -> str:
    """``matrix-<client>-py<python>``; a parser that installs something has its own:
    ``matrix-<client>-hiredis-py<python>`` (the python parser's is the client's own)."""
    tail = f"-{parser}" if parsers.installs(parser) else ""
    return f"matrix-{client.name}{tail}-py{python}"


def uv_binary() -> str | None:
    """uv (a dependency of the runner): much faster than pip. The binary the ``uv`` wheel put
    beside this interpreter, else one on PATH, else wherever the ``uv`` package says; None when
    none of them works (environments are then made with pip)."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return find_uv_bin()
    except Exception:  # not there, or it fails on this Python (its EXE is None, ...)
        return None


def without_uv() -> str | None:
    """The one line a run says when uv cannot be found and environments are made with pip."""
    if uv_binary() is not None:
        return None
    return (
        f"uv was not found (not beside {sys.executable}, not on PATH, not through the uv "
        "package): client environments are made with pip, several seconds each instead of a "
        "fraction of one (pip install uv)"
    )


def _reports(executable: str, version: str) -> bool:
    """True when ``executable`` runs and is Python ``version`` (pyenv shims may only pretend)."""
    try:
        done = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def find_python(version: str) -> str:
    """The interpreter for ``version`` ("3.11"): this one, pythonX.Y on PATH, a pyenv install,
    or what uv finds; each candidate is asked for its version before it is trusted."""
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        (str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}")), reverse=True
    )
    for candidate in candidates:
        if candidate and _reports(candidate, version):
            return candidate
    uv = uv_binary()
    if uv:
        done = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", version],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and _reports(done.stdout.strip(), version):
            return done.stdout.strip()
    raise PythonNotFound(f"python {version} is not installed on this machine")


# What uv and pip put before the lines of an error: tree marks, "error:"/"cause:" and the like.
_TREE = "\u00d7\u2570\u2500\u25b6\u2502|"  # the marks of uv's error tree
_MARKS = re.compile(rf"^(?:[\s{_TREE}]+|(?:error|cause|caused by)\s*:\s*)+", re.IGNORECASE)


def failure_reason(output: str) -> str:
    """The reason in an installer's error output, on one line.

    uv says "No solution found ..." and then, on a line of its own, "Because there is no version
    of redis==99.0 ..."; pip says "Could not find a version ... (from versions: <a long list>)"
    and then "No matching distribution found for redis==99.0". The first line says what failed,
    the last one why: both, shortened.
    """
    lines = [_MARKS.sub("", line).strip() for line in output.strip().splitlines()]
    lines = [line for line in lines if line and not line.lower().startswith(("hint:", "help:"))]
    if not lines:
        return ""
    first, last = textwrap.shorten(lines[0], 160), textwrap.shorten(lines[-1], 240)
    return first if first == last else f"{first.rstrip(':')}: {last}"


def _run(cmd: list[str], what: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stderr or done.stdout
        tail = "\n".join(output.strip().splitlines()[-15:])
        # The first line is what a console line or a grid cell shows: it carries the reason.
        reason = failure_reason(output)
        command = " ".join([Path(cmd[0]).name, *cmd[1:3]])  # "uv pip install", no local path
        raise EnvError(f"{what} failed ({command} ...){': ' + reason if reason else ''}\n{tail}")
    return done.stdout


class ReleaseNotInstallable(EnvError):
    """An expanded release that does not install on this Python: the cell is skipped."""


_NOT_FOR_THIS_PYTHON = re.compile(r"requires-python|current python version .* not satisf", re.I)


def installable(client: ClientSpec, python: str) -> None:
    """Raise :class:`ReleaseNotInstallable` when the release's Requires-Python excludes it."""
    if client.requires_python:
        try:
            fits = SpecifierSet(client.requires_python).contains(python + ".0")
        except InvalidSpecifier:
            return
        if not fits:
            raise ReleaseNotInstallable(
                f"{client.package} {client.version.lstrip('=')} does not install on python "
                f"{python} (Requires-Python {client.requires_python})"
            )


def ensure_env(
    client: ClientSpec,
    python: str,
    root: Path,
    *,
    refresh: bool = False,
    since: float | None = None,
    parser: str | None = None,
) -> ClientEnv:
    """Create (or reuse) the environment for ``client`` on ``python`` under ``root``, for the
    cells that claim ``parser`` (None: no claim).

    With ``refresh``, one made at or after ``since`` (default: this call) is fresh enough: the
    run that asks made it, or another one while this one waited for it.
    An expanded release (``client.row``) that its Requires-Python or the installer refuses on
    this Python raises :class:`ReleaseNotInstallable`; a parser that does not install or that
    the client does not use, :class:`~.parsers.ParserNotInstallable`.
    """
    installable(client, python)
    try:
        return _ensure_env(client, python, root, refresh=refresh, since=since, parser=parser)
    except parsers.ParserNotInstallable:
        raise
    except EnvError as exc:
        if client.row and _NOT_FOR_THIS_PYTHON.search(str(exc)):
            raise ReleaseNotInstallable(
                f"{client.package} {client.version.lstrip('=')} does not install on python "
                f"{python}: {exc}"
            ) from None
        raise


def _ensure_env(
    client: ClientSpec,
    python: str,
    root: Path,
    *,
    refresh: bool,
    since: float | None,
    parser: str | None,
) -> ClientEnv:
    """Under the environment's lock: runs sharing ``root`` (two nightly jobs, a user and a job)
    wait for one that is making it, then reuse what it made; a kernel lock, so a run killed
    while it holds one blocks nobody."""
    asked = time.time() if since is None else since
    since = asked if refresh else None  # with --refresh, one made since it asked is fresh
    lock = root / f"{env_name(client, python, parser)}.lock"
    try:
        root.mkdir(parents=True, exist_ok=True)
        held = FileLock(str(lock))
        held.acquire()
    except OSError as exc:
        # a read-only envdir (a mounted cache) still serves the environments it holds
        found = _reusable(client, python, root, since=since, parser=parser)
        if found is not None:
            return _with_parser(found, parser)
        raise EnvError(f"cannot lock {lock}: {exc.strerror or exc}") from None
    try:
        found = _reusable(client, python, root, since=since, parser=parser)
        return _with_parser(found or _make_env(client, python, root, parser), parser)
    finally:
        held.release()


def _wanted(client: ClientSpec, python: str, parser: str | None) -> dict[str, object]:
    """What an environment's stamp records and must match to be reused (a parser's own
    requirements too: an environment made for one parser never serves another)."""
    return {
        "python": python,
        "requirements": [client.requirement, *SUITE_REQUIREMENTS],
        "parser_requirements": parsers.requirements(client, parser) or None,
    }


def _reusable(
    client: ClientSpec, python: str, root: Path, *, since: float | None, parser: str | None
) -> ClientEnv | None:
    """The environment under ``root`` when it fits and is fresh (made since ``since``; without
    it, a pinned one always is and a floating one for a day)."""
    location = root / env_name(client, python, parser)
    try:
        recorded = json.loads((location / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict):
        return None
    created = recorded.get("created", 0)
    if not isinstance(created, (int, float)):
        return None
    if since is None:
        fixed = pinned(client) and parsers.pinned(client, parser)
        fresh = fixed or time.time() - created < FLOATING_MAX_AGE
    else:
        fresh = created >= since
    wanted = _wanted(client, python, parser)
    same = {k: recorded.get(k) for k in wanted} == wanted
    if same and fresh and (location / "bin/python").exists():
        return ClientEnv(client, python, location, str(recorded.get("client_version")), reused=True)
    return None


def _make_env(client: ClientSpec, python: str, root: Path, parser: str | None) -> ClientEnv:
    location = root / env_name(client, python, parser)
    wanted = _wanted(client, python, parser)
    extra = parsers.requirements(client, parser)
    requirements = [client.requirement, *SUITE_REQUIREMENTS]
    stamp = location / STAMP
    interpreter = find_python(python)
    what = f"creating the environment for client {client.name!r} (python {python})"
    if location.exists():
        shutil.rmtree(location)
    try:
        _install(location, interpreter, requirements, what, known=pinned(client))
        version = installed_version(location, client.package)
        if extra:  # a parser that does not install is a skipped cell, not a broken client
            _install_parser(location, client, python, parser, version)
    except EnvError:
        shutil.rmtree(location, ignore_errors=True)  # no half-made environment is ever reused
        raise
    stamp.write_text(
        json.dumps({**wanted, "client_version": version, "created": time.time()}, indent=2)
    )
    return ClientEnv(client, python, location, version)


def _install_parser(
    location: Path, client: ClientSpec, python: str, parser: str | None, version: str
) -> None:
    """The parser's packages beside the installed client release (pinned to it, so the
    installer never moves the client to another release that accepts them), from wheels only;
    :class:`~.parsers.ParserNotInstallable` (a skipped cell, not a broken client) when they do
    not install."""
    env_python = str(location / "bin" / "python")
    uv = uv_binary()
    if uv:
        install = [uv, "pip", "install", "--quiet", "--python", env_python]
    else:
        install = [env_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    binary = [f"--only-binary={d}" for d in parsers.only_binary(parser)]
    requirements = parsers.requirements(client, parser, version)
    try:
        # "--": a requirement is never read as an option (matrix.yaml's are checked too)
        _run([*install, *binary, "--", *requirements], f"installing {' '.join(requirements)}")
    except EnvError as exc:
        raise parsers.ParserNotInstallable(
            f"the {parser} parser does not install beside {client.package} "
            f"{version} on python {python}: {_because(str(exc))}"
        ) from None


def _because(message: str) -> str:
    """The installer's explanation in an install error, on one line: uv's "Because ..." lines
    (which requirement bounds which), else the error's first line."""
    lines = [_MARKS.sub("", line).strip() for line in message.splitlines()]
    found = [line for line in lines if line.lower().startswith(("because", "and because"))]
    return " ".join(found) if found else message.splitlines()[0]


def _with_parser(env: ClientEnv, parser: str | None) -> ClientEnv:
    """``env`` with the parser its client really picks there (asked once per environment as
    made, recorded beside its stamp: a python environment shared with cells that claim no
    parser must hold no hiredis); :class:`~.parsers.ParserNotInstallable` when that is not
    ``parser``."""
    if parser is None:
        return env
    found = parsers.probed(str(env.python), env.client, env.location / STAMP)
    cls = parsers.check(found, env.client, env.client_version, parser)
    dist = parsers.DISTRIBUTIONS.get(parser, "")
    version = found.get("versions", {}).get(dist, "") if dist else ""
    return replace(
        env, parser=parser, parser_class=cls, parser_version=f"{dist} {version}" if version else ""
    )


def _install(
    location: Path, interpreter: str, requirements: list[str], what: str, *, known: bool
) -> None:
    """A virtualenv at ``location`` with ``requirements``, nothing on the critical path a cell
    does not need: no bytecode is compiled (a cell's imports compile what they use, once, into
    the environment), and a pinned client (``known``) is installed from uv's cache alone when
    it has everything (resolving against the index only where it does not): the release
    cannot change, and the cache is as fresh as the last online resolution on the machine."""
    uv = uv_binary()
    env_python = str(location / "bin" / "python")
    installing = f"installing {' '.join(requirements)}"
    if uv:
        _run([uv, "venv", "--quiet", "--python", interpreter, str(location)], what)
        install = [uv, "pip", "install", "--quiet", "--python", env_python]
        # "--": a requirement is never read as an option (matrix.yaml's are checked too)
        if known:
            try:
                _run([*install, "--offline", "--", *requirements], installing)
                return
            except EnvError:
                pass  # something is not in the cache: resolve online
        _run([*install, "--", *requirements], installing)
        return
    _run([interpreter, "-m", "venv", str(location)], what)
    install = [env_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*install, "--no-compile", "--", *requirements], installing)


def installed_version(location: Path, package: str) -> str:
    """The version of ``package`` installed in the environment at ``location``, read from its
    metadata (no interpreter started), else by asking the environment's Python."""
    paths = [str(p) for p in location.glob("lib/python*/site-packages")]
    for dist in importlib.metadata.distributions(name=package, path=paths):
        return str(dist.version)
    return _run(
        [
            str(location / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({package!r}))",
        ],
        f"reading the installed version of {package}",
    ).strip()


def cell_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a cell's pytest starts from: the caller's, minus venv leakage."""
    env = dict(os.environ if base is None else base)
    for key in (
        "VIRTUAL_ENV",
        "PYTHONHOME",
        "PYTEST_ADDOPTS",
        "PYTEST_PLUGINS",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(key, None)
    return env
