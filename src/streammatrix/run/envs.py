"""One virtualenv per client version and Python, created once and reused while it still fits.

A cell's environment holds only what the suite needs: the client under test, pytest and
pytest-asyncio. The runner's own package reaches it through PYTHONPATH, never through an install,
so the client's dependencies are exactly what a user of that client would get.
"""

from __future__ import annotations

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
    """uv when it is installed (as a command or as the PyPI package): much faster than pip."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


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
    parser: str | None = None,
) -> ClientEnv:
    """Create (or reuse) the environment for ``client`` on ``python`` under ``root``, for the
    cells that claim ``parser`` (None: no claim).

    An expanded release (``client.row``) that its Requires-Python or the installer refuses on
    this Python raises :class:`ReleaseNotInstallable`; a parser that does not install or that
    the client does not use, :class:`~.parsers.ParserNotInstallable`.
    """
    installable(client, python)
    try:
        return _ensure_env(client, python, root, refresh=refresh, parser=parser)
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
    client: ClientSpec, python: str, root: Path, *, refresh: bool, parser: str | None
) -> ClientEnv:
    location = root / env_name(client, python, parser)
    requirements = [client.requirement, *SUITE_REQUIREMENTS]
    extra = parsers.requirements(client, parser)
    wanted: dict = {"python": python, "requirements": requirements}
    if extra:
        wanted["parser_requirements"] = extra
    stamp = location / STAMP
    if not refresh and stamp.is_file():
        try:
            recorded = json.loads(stamp.read_text())
        except ValueError:
            recorded = {}
        fixed = pinned(client) and parsers.pinned(client, parser)
        fresh = fixed or time.time() - recorded.get("created", 0) < FLOATING_MAX_AGE
        same = all(recorded.get(k) == wanted.get(k) for k in {*wanted, "parser_requirements"})
        if same and fresh and (location / "bin/python").exists():
            env = ClientEnv(client, python, location, recorded["client_version"], reused=True)
            return _with_parser(env, parser)

    interpreter = find_python(python)
    what = f"creating the environment for client {client.name!r} (python {python})"
    if location.exists():
        shutil.rmtree(location)
    uv = uv_binary()
    env_python = str(location / "bin" / "python")
    if uv:
        _run([uv, "venv", "--quiet", "--python", interpreter, str(location)], what)
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", env_python]
    else:
        _run([interpreter, "-m", "venv", str(location)], what)
        install = [env_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        # "--": a requirement is never read as an option (matrix.yaml's are checked too)
        _run([*install, "--", *requirements], f"installing {' '.join(requirements)}")
        version = _installed(env_python, client)
        if extra:  # a parser that does not install is a skipped cell, not a broken client
            binary = [f"--only-binary={d}" for d in parsers.only_binary(parser)]
            pinned_extra = parsers.requirements(client, parser, version)
            try:
                _run([*install, *binary, "--", *pinned_extra], f"installing {' '.join(extra)}")
            except EnvError as exc:
                raise parsers.ParserNotInstallable(
                    f"the {parser} parser does not install beside {client.package} "
                    f"{version} on python {python}: {_because(str(exc))}"
                ) from None
    except EnvError:
        shutil.rmtree(location, ignore_errors=True)  # no half-made environment is ever reused
        raise
    stamp.write_text(
        json.dumps({**wanted, "client_version": version, "created": time.time()}, indent=2)
    )
    return _with_parser(ClientEnv(client, python, location, version), parser)


def _installed(env_python: str, client: ClientSpec) -> str:
    return _run(
        [env_python, "-c", f"import importlib.metadata as m; print(m.version({client.package!r}))"],
        f"reading the installed version of {client.package}",
    ).strip()


def _because(message: str) -> str:
    """The installer's explanation in an install error, on one line: uv's "Because ..." lines
    (which requirement bounds which), else the error's first line."""
    lines = [_MARKS.sub("", line).strip() for line in message.splitlines()]
    found = [line for line in lines if line.lower().startswith(("because", "and because"))]
    return " ".join(found) if found else message.splitlines()[0]


def _with_parser(env: ClientEnv, parser: str | None) -> ClientEnv:
    """``env`` with the parser its client really picks there (asked on every use: a python
    environment may be shared with cells that claim no parser, and it must hold no hiredis);
    :class:`~.parsers.ParserNotInstallable` when that is not ``parser``."""
    if parser is None:
        return env
    found = parsers.probe(str(env.python), env.client)
    cls = parsers.check(found, env.client, env.client_version, parser)
    dist = parsers.DISTRIBUTIONS.get(parser, "")
    version = found.get("versions", {}).get(dist, "") if dist else ""
    return replace(
        env, parser=parser, parser_class=cls, parser_version=f"{dist} {version}" if version else ""
    )


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
