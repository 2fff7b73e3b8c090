"""What one client environment costs from a warm package cache: a pinned release of a
selected client made again and again in a fresh directory (the first one, not timed, fills the
cache), as a release of a range or a bisection step makes it."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from streammatrix.config.model import ClientSpec
from streammatrix.run.envs import ensure_env, uv_binary


def env_cost(client: ClientSpec, python: str, repeats: int, scratch: Path) -> dict[str, Any]:
    """``repeats`` environments of ``client`` pinned to the release it resolves to now."""
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as first:
        version = ensure_env(client, python, Path(first)).client_version  # fills the cache
    pinned = replace(client, version=f"=={version}")
    samples = []
    for _ in range(repeats):
        root = Path(tempfile.mkdtemp(dir=scratch))
        try:
            began = time.perf_counter()
            ensure_env(pinned, python, root)
            samples.append(time.perf_counter() - began)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "client": client.name,
        "release": version,
        "python": python,
        "installer": "uv" if uv_binary() else "pip",
        "samples": [round(s, 3) for s in samples],
        "median_seconds": round(statistics.median(samples), 3) if samples else None,
        "min_seconds": round(min(samples), 3) if samples else None,
        "max_seconds": round(max(samples), 3) if samples else None,
    }
