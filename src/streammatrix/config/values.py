"""Checks of single values in matrix.yaml that a JSON schema cannot express.

Each takes ``fail(keys, message)``, which makes the ConfigError naming file, key path and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from streammatrix import names
from streammatrix.config.model import MAX_TIMEOUT
from streammatrix.errors import ConfigError

TIMEOUT_RANGE = f"and at most {MAX_TIMEOUT} ({MAX_TIMEOUT // 86400} days)"

Fail = Callable[[list[Any], str], ConfigError]


def timeout(fail: Fail, value: float) -> float:
    """Seconds per cell: a finite number above 0 (YAML's .nan and .inf are numbers too), at
    most MAX_TIMEOUT."""
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_TIMEOUT:
        raise fail(["timeout"], f"{value!r} is not a number of seconds above 0 {TIMEOUT_RANGE}")
    return seconds


def binary_names(fail: Fail, keys: list[Any], raw: dict[str, Any]) -> None:
    """What reaches pip's or apt-get's command line: plain names, never an option or a URL."""
    if "pypi" in raw:
        problem = names.requirement_problem(raw["pypi"])
        if problem:
            raise fail([*keys, "pypi"], problem)
    if "debian" in raw:
        problem = names.debian_problem(raw["debian"])
        if problem:
            raise fail([*keys, "debian"], problem)
    for j, lib in enumerate(raw.get("libs", ())):
        problem = names.debian_problem(lib)
        if problem:
            raise fail([*keys, "libs", j], problem)
