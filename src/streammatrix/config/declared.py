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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--declared {path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--declared {path}: not valid TOML: {exc}") from None
    found = data.get("project", {}).get("dependencies", [])
    if not isinstance(found, list):
        raise ConfigError(f"--declared {path}: [project] dependencies is not a list")
    out = []
    for text in found:
        try:
            Requirement(str(text))
        except InvalidRequirement:
            raise ConfigError(f"--declared {path}: {text!r} is not a requirement") from None
        out.append(str(text))
    return tuple(out)
