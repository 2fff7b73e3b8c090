"""Text from files, names and errors is printed as it is: never read as console markup.

`[/x]` would end a style that is not open (rich raises), `[hiredis]` would vanish as a tag and
`:x:` would become an emoji; paths, keys and test ids hold such text.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rich.console import Console
from support import ROOT

from streammatrix.bench.tables import print_tables

HOSTILE = "[/x]:x:[hiredis][bold]"


def test_an_error_naming_a_hostile_path_and_key_prints_verbatim(tmp_path):
    folder = tmp_path / f"m{HOSTILE}"
    (folder / "tests" / "streams").mkdir(parents=True)
    config = folder / "matrix.yaml"
    config.write_text(
        "servers: [{name: a, image: 'redis:7.0'}]\n"
        "clients: [{version: latest}]\n"
        f"'{HOSTILE}': 1\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "list", "--config", str(config)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"error: {config}:3: {HOSTILE}: unknown key {HOSTILE!r} "
        "(allowed: bisect, clients, declared, exclude, expected, history, protocols, provider, "
        "python, required, reruns, servers, start, suite, timeout, topologies)"
    ]


def test_bench_tables_print_names_test_ids_and_notes_verbatim():
    result = {
        "starts_per_server": 1,
        "starts": [
            {"provider": "binary", "server": "redis-7.0", "version": f"7.0{HOSTILE}",
             "samples": [0.1], "available": True, "error": None, "median_seconds": 0.1,
             "first_seconds": 0.1, "goal_seconds": 2, "met": True},
            {"provider": "docker", "server": "redis-7.0", "version": "", "samples": [],
             "available": False, "error": f"engine {HOSTILE} down", "median_seconds": None,
             "first_seconds": None, "goal_seconds": 2, "met": None},
        ],
        "runs": [],
        "latencies": [
            {"server": "redis-7.0", "client": "redis-7", "test": "t.py::test_x[hiredis]",
             "target_ms": 5, "latency_ms": 7.5, "within": False},
        ],
        "summary": [
            {"goal": "server start", "value": 0.1, "target": "< 2s", "met": True,
             "note": f"note {HOSTILE}"},
        ],
    }  # fmt: skip
    out = io.StringIO()
    print_tables(result, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    assert f"7.0{HOSTILE}" in text
    assert f"docker redis-7.0: not available: engine {HOSTILE} down" in text
    assert "test_x[hiredis]" in text
    assert "7.500 over" in text
    assert f"note {HOSTILE}" in text
    assert "< 2s met" in text
