"""What starting the command line imports: a run does not wait on the report's templates or on
the benchmark, which it needs only at its end or never."""

from __future__ import annotations

import json
import subprocess
import sys

from streammatrix.cli import main


def _loaded_by(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_starting_the_command_line_imports_neither_templates_nor_the_bench() -> None:
    loaded = _loaded_by("import streammatrix.cli\nstreammatrix.cli.build_parser()")
    assert "jinja2" not in loaded
    assert "streammatrix.report.build" not in loaded
    bench = {m for m in loaded if m.startswith("streammatrix.bench.")}
    assert bench <= {"streammatrix.bench.options", "streammatrix.bench.goals"}


def test_the_bench_options_are_still_parsed(capsys) -> None:
    try:
        main(["bench", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for option in ("--fixed", "--bisect-range", "--rounds", "--default-matrix", "--starts"):
        assert option in out
