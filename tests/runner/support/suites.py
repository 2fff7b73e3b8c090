"""Test modules that the runner's own tests write and run as cells."""

from __future__ import annotations

from pathlib import Path


def meet(here: Path, there: Path, then: str = "pass") -> str:
    """A test that passes only while another cell runs: it leaves ``here`` and waits for
    ``there`` (the other cell's mark), then runs ``then``."""
    return f"""
        import os, pathlib, signal, time

        def test_it():
            pathlib.Path({str(here)!r}).write_text(str(os.getpid()))
            for _ in range(600):
                if pathlib.Path({str(there)!r}).exists():
                    break
                time.sleep(0.1)
            assert pathlib.Path({str(there)!r}).exists(), "the other cell never ran beside me"
            {then}
    """
