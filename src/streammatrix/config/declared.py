"""``--declared PATH``: the requirements a project promises, read from its pyproject.toml.

``[project] dependencies`` (PEP 621) are the declared ranges; the report checks each one that
names a client family the matrix measured (e.g. ``redis>=4.0``) against what really passes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from streammatrix.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    tomllib = None


def read_declared(path: str | Path) -> tuple[str, ...]:
    """The dependencies of ``path`` (a pyproject.toml), each a valid requirement."""
    path = Path(path)
    if tomllib is None:
        raise ConfigError(f"--declared {path}: reading TOML needs Python 3.11 or newer")
    if path.exists() and not path.is_file():  # a directory, /dev/zero, a pipe
        raise ConfigError(f"--declared {path}: not a file")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # TOML is UTF-8; an editor's BOM is fine
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"--declared {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"--declared {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); a pyproject.toml is UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--declared {path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"--declared {path}: not valid TOML (nested too deeply)") from None
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise ConfigError(f"--declared {path}: project is {_shown(project)}, not a [project] table")
    found = project.get("dependencies", [])
    if not isinstance(found, list):
        raise ConfigError(
            f"--declared {path}: [project] dependencies is {_shown(found)}, not a list"
        )
    out = []
    for item in found:
        if not isinstance(item, str):
            raise ConfigError(f"--declared {path}: {_shown(item)} is not a requirement string")
        try:
            Requirement(item)
        except InvalidRequirement:
            raise ConfigError(f"--declared {path}: {_shown(item)} is not a requirement") from None
        out.append(item)
    return tuple(out)


def _shown(value: object) -> str:
    """A value for a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
