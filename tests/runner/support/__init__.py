"""Helpers shared by the runner's tests: real servers, real matrices, the real Docker engine."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # the project's root
PY = f"{sys.version_info.major}.{sys.version_info.minor}"  # this interpreter, as a matrix python
DATA = ROOT / "tests" / "runner" / "data"  # cell files and matrices the tests read
