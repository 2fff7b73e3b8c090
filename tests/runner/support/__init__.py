"""Helpers shared by the runner's tests: real servers, real matrices, the real Docker engine."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # the project's root
PY = f"{sys.version_info.major}.{sys.version_info.minor}"  # this interpreter, as a matrix python
DATA = ROOT / "tests" / "runner" / "data"  # cell files and matrices the tests read

# The images the tests build and start are the catalogue's (`redis:7.0`, what `nox -s images`
# builds too), or with STREAMMATRIX_TEST_IMAGES=NS the same under the namespace NS/: an engine
# that has none of them, in effect, to check that each test makes what it needs.
IMAGES = os.environ.get("STREAMMATRIX_TEST_IMAGES", "")


def image_tag(image: str | None) -> str | None:
    """The tag the tests use for a catalogue ``image``."""
    return f"{IMAGES}/{image}" if IMAGES and image else image
