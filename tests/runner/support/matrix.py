"""Small matrix files for the tests that run the runner: rows of the real catalogue, a suite."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from support import PY, ROOT, image_tag


def catalogue_servers(*names: str) -> list[dict[str, Any]]:
    """The server rows of the shipped matrix.yaml named ``names``, as written there."""
    rows = yaml.safe_load((ROOT / "matrix.yaml").read_text())["servers"]
    found = [row for row in rows if row["name"] in names]
    assert len(found) == len(names), f"not in matrix.yaml: {names}"
    return [{**row, "image": image_tag(row["image"])} if "image" in row else row for row in found]


def copy_suite(target: Path) -> Path:
    """A copy of the shared stream suite (a test may add files to it)."""
    shutil.copytree(
        ROOT / "tests" / "streams", target, ignore=shutil.ignore_patterns("__pycache__")
    )
    return target


def write_matrix(
    path: Path,
    *,
    servers: Sequence[str],
    clients: Sequence[dict[str, str]],
    suite: str = "suite",
    **extra: Any,
) -> Path:
    """matrix.yaml at ``path``: catalogue servers, the given clients, this Python, binaries."""
    data = {
        "suite": suite,
        "provider": "binary",
        "timeout": 300,
        "python": [PY],
        "servers": catalogue_servers(*servers),
        "clients": list(clients),
        **extra,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
