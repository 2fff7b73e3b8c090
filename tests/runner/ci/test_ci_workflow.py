"""The nightly CI job (ci/github/nightly.yml, ci/gitlab/.gitlab-ci.yml), checked without CI.

Both files go through real linters: actionlint (with ShellCheck on the ``run:`` scripts when it
is on PATH) for the workflow, and the GitHub-workflow and GitLab-CI JSON schemas
(check-jsonschema, which ships them) for both. Then the workflow's own steps run here, in its
order, on a 2 servers x 1 client matrix: the workflow YAML is read, the ``${{ }}`` expressions
are replaced with local values (shard 1/1, paths in a temporary checkout), and every step that
calls nox runs under bash as the runner would run it, with the artifact hand-over between the
shard and merge jobs done as the upload and download steps describe it. The GitLab file must run
the very same nox commands.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import PY, ROOT
from support.matrix import write_matrix

from streammatrix.report.analysis.stored import expand

WORKFLOW = ROOT / "ci" / "github" / "nightly.yml"
GITLAB = ROOT / "ci" / "gitlab" / ".gitlab-ci.yml"
SERVERS = ("redis-6.2", "redis-7.0")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Steps that talk to GitHub, the Docker engine or the host's package manager do not run here;
# what they hand on is simulated (the baseline) or not needed (the built-image cache).
OUTSIDE = ("gh ", "docker ", "sudo ")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def tool(name: str) -> str | None:
    """A console script of this environment, or one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


# --- linters ------------------------------------------------------------------------------


def test_actionlint_accepts_the_workflow():
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -e '.[test]')")
    done = run([actionlint, "-no-color", "-oneline", str(WORKFLOW)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_is_a_real_check(tmp_path):
    """A workflow with a mistake in it fails: the linter is not a stand-in that always passes."""
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -e '.[test]')")
    broken = tmp_path / "nightly.yml"
    text = WORKFLOW.read_text().replace("needs.plan.outputs.total", "needs.plan.outputs.totl")
    broken.write_text(text)
    done = run([actionlint, "-no-color", "-oneline", str(broken)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "totl" in done.stdout


@pytest.mark.parametrize(
    ("path", "schema"),
    [(WORKFLOW, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github", "gitlab"],
)
def test_files_match_their_platform_schema(path, schema):
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    done = run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)])
    assert done.returncode == 0, done.stdout + done.stderr


# --- what the workflow promises ----------------------------------------------------------


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def test_workflow_shape():
    wf = load(WORKFLOW)
    assert wf["on"]["schedule"][0]["cron"]
    assert {"servers", "clients", "shards"} <= set(wf["on"]["workflow_dispatch"]["inputs"])
    jobs = wf["jobs"]
    shard, merge = jobs["shard"], jobs["merge"]
    assert "fromJSON(needs.plan.outputs.shards)" in str(shard["strategy"]["matrix"]["shard"])
    assert shard["strategy"]["fail-fast"] is False
    (upload,) = uses(shard, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {"report/cells/", "report/logs/"}
    assert [s for s in steps(shard) if "--shard" in s.get("run", "")]
    cached = {str(s["with"]["path"]) for s in uses(shard, "actions/cache")}
    assert "~/.cache/streammatrix" in cached
    # The binary provider runs in the same Debian image as the GitLab jobs.
    assert load(GITLAB)["default"]["image"] in shard["container"]["image"]

    assert "shard" in merge["needs"]
    assert merge["if"].startswith("always()")
    (download,) = uses(merge, "actions/download-artifact")
    assert fnmatch.fnmatch(upload["with"]["name"].replace("${{ matrix.shard }}", "1"), "cells-*")
    assert download["with"]["pattern"] == "cells-*"
    baseline = next(s for s in steps(merge) if s.get("id") == "baseline")
    assert "gh run list" in baseline["run"]
    assert "gh run download" in baseline["run"]
    assert "--status success" in baseline["run"]
    assert wf["permissions"]["actions"] == "read"
    summary = next(s for s in steps(merge) if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert summary["if"] == "always()" and "report/report.md" in summary["run"]
    (final,) = uses(merge, "actions/upload-artifact")
    assert final["if"] == "always()"
    assert final["with"]["name"] in baseline["run"]  # what the next night downloads


def calls_nox(script: str) -> bool:
    return any(line.strip().startswith("nox ") for line in script.splitlines())


def nox_lines(scripts: list[str]) -> list[str]:
    lines = [line.strip() for script in scripts for line in script.splitlines()]
    return [" ".join(line.split()) for line in lines if line.startswith("nox ")]


def github_nox_lines() -> list[str]:
    wf = load(WORKFLOW)
    return nox_lines([s.get("run", "") for job in wf["jobs"].values() for s in steps(job)])


def gitlab_nox_lines() -> list[str]:
    data = load(GITLAB)
    scripts: list[str] = []
    for job in data.values():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                scripts += [str(item) for item in job.get(key, [])]
    return nox_lines(scripts)


def test_gitlab_runs_the_same_nox_commands_as_the_tested_workflow():
    gitlab, github = gitlab_nox_lines(), github_nox_lines()
    assert len(gitlab) == 3, gitlab  # plan (--list), shard (--shard), merge (report)
    assert set(gitlab) <= set(github), set(gitlab) - set(github)
    data = load(GITLAB)
    assert data["shard"]["artifacts"]["when"] == "always"
    assert data["merge"]["when"] == "always"
    assert "jobs/artifacts" in " ".join(data["merge"]["script"])  # the last green baseline


# --- the workflow's nox steps, run here -----------------------------------------------------


class Expressions:
    """The few ``${{ }}`` forms the workflow uses: names, 'literals', ``||``, ``==``, ``!=``,
    ``&&`` and ``always()``. Anything else fails the test, so the workflow cannot drift away
    from what is run here."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def value(self, operand: str) -> str:
        operand = operand.strip()
        if operand in ("always()", "success()"):
            return "true"
        if len(operand) >= 2 and operand[0] == operand[-1] == "'":
            return operand[1:-1]
        if operand.startswith("vars."):
            return self.values.get(operand, "")  # no repository variables set here
        if operand in self.values:
            return self.values[operand]
        raise AssertionError(f"the local run has no value for {operand!r}")

    def evaluate(self, expr: str) -> str:
        if "&&" in expr:
            parts = [self.evaluate(part) for part in expr.split("&&")]
            return "true" if all(p not in ("", "false") for p in parts) else "false"
        for op in ("!=", "=="):
            if op in expr:
                left, right = (self.value(side) for side in expr.split(op, 1))
                return "true" if (left == right) == (op == "==") else "false"
        result = ""
        for operand in expr.split("||"):
            result = self.value(operand)
            if result:
                return result
        return result

    def render(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.evaluate(m.group(1)), str(text))

    def env(self, mapping: dict[str, Any] | None) -> dict[str, str]:
        return {key: self.render(value) for key, value in (mapping or {}).items()}


class LocalRunner:
    """Runs workflow steps in a temporary checkout, the way a runner would."""

    def __init__(self, tmp_path: Path, workflow: dict[str, Any]) -> None:
        self.wf = workflow
        self.tmp = tmp_path
        self.checkout = tmp_path / "checkout"
        self.artifacts = tmp_path / "artifacts"
        self.summary = tmp_path / "step-summary.md"
        self.summary.touch()
        self.values: dict[str, str] = {
            "inputs.servers": "",
            "inputs.clients": "",
            "inputs.shards": "1",
            "inputs.provider": "binary",
            "inputs.images": "registry",
            "github.token": "",
            "github.repository": "local/streammatrix",
            "github.workflow": str(workflow["name"]),
            "github.ref_name": "main",
            "runner.os": "Linux",
        }
        self.make_checkout()

    def make_checkout(self) -> None:
        """What actions/checkout gives: the project, plus a tiny matrix beside matrix.yaml."""
        # no caches or build output; the report folder is the checkout's own, not src's
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".nox")
        self.checkout.mkdir()
        for name in ("noxfile.py", "pyproject.toml", "README.md", "matrix.yaml"):
            shutil.copy2(ROOT / name, self.checkout / name)
        for name in ("src", "ci", "tests/streams"):
            shutil.copytree(ROOT / name, self.checkout / name, ignore=ignore)
        self.config = write_matrix(
            self.checkout / "ci-local.yaml",
            servers=SERVERS,
            clients=[{"name": "redis-7", "version": "7.*"}],
            suite="tests/streams",
        )

    def fresh_workspace(self) -> None:
        """A job starts on a new runner: nothing another job wrote is there (nox's cache aside)."""
        for name in ("report", "shards", "baseline"):
            shutil.rmtree(self.checkout / name, ignore_errors=True)

    def environ(self, job: dict[str, Any], step: dict[str, Any], outputs: Path) -> dict[str, str]:
        expressions = Expressions(self.values)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTEST_ADDOPTS")}
        env.update(expressions.env(self.wf.get("env")))
        env.update(expressions.env(job.get("env")))
        env.update(expressions.env(step.get("env")))
        env.update(
            {
                "CI": "true",
                "GITHUB_OUTPUT": str(outputs),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "STREAMMATRIX_CONFIG": str(self.config),
            }
        )
        return env

    def step(self, job: dict[str, Any], step: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        outputs = self.tmp / "github-output"
        outputs.write_text("")
        script = Expressions(self.values).render(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-c", script],
            cwd=self.checkout,
            env=self.environ(job, step, outputs),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        for line in outputs.read_text().splitlines():
            key, _, value = line.partition("=")
            if step.get("id"):
                self.values[f"steps.{step['id']}.outputs.{key}"] = value
        return done

    def job(self, name: str) -> dict[str, str]:
        """Run the job's local steps; return what each printed, by step name."""
        job = self.wf["jobs"][name]
        printed = {}
        for step in steps(job):
            text = step.get("run", "")
            if not calls_nox(text) and (
                any(t in text for t in OUTSIDE)
                or not ("GITHUB_OUTPUT" in text or "GITHUB_STEP_SUMMARY" in text)
            ):
                continue  # e.g. installing nox, which the test's environment already has
            done = self.step(job, step)
            label = step.get("name", text.splitlines()[0])
            assert done.returncode == 0, f"step {label!r} failed:\n{done.stdout}\n{done.stderr}"
            printed[label] = done.stdout + done.stderr
        expressions = Expressions(self.values)
        for key, value in (job.get("outputs") or {}).items():
            self.values[f"needs.{name}.outputs.{key}"] = expressions.render(value)
        self.values[f"needs.{name}.result"] = "success"
        return printed

    def upload(self, job: dict[str, Any]) -> Path:
        """actions/upload-artifact: the paths, relative to their least common ancestor."""
        (step,) = uses(job, "actions/upload-artifact")
        expressions = Expressions(self.values)
        name = expressions.render(step["with"]["name"])
        paths = [
            self.checkout / expressions.render(p).strip()
            for p in step["with"]["path"].splitlines()
            if p.strip()
        ]
        root = Path(os.path.commonpath(paths)) if len(paths) > 1 else paths[0]
        target = self.artifacts / name
        for path in paths:
            if path.exists():
                shutil.copytree(path, target / path.relative_to(root), dirs_exist_ok=True)
        return target

    def download(self, job: dict[str, Any]) -> list[Path]:
        """actions/download-artifact with a pattern: each artifact in a folder of its name."""
        (step,) = uses(job, "actions/download-artifact")
        into = self.checkout / step["with"]["path"]
        found = []
        for artifact in sorted(self.artifacts.iterdir()):
            if fnmatch.fnmatch(artifact.name, step["with"]["pattern"]):
                shutil.copytree(artifact, into / artifact.name)
                found.append(into / artifact.name)
        return found


def cell_ids() -> list[str]:
    return [f"{server}--redis-7--py{PY}" for server in SERVERS]


@pytest.mark.servers
@pytest.mark.slow
def test_the_workflows_nox_steps_run_locally_in_order(tmp_path):
    wf = load(WORKFLOW)
    local = LocalRunner(tmp_path, wf)
    report = local.checkout / "report"

    # plan: the selection is listed, and the shard list is what the shard job's matrix reads.
    printed = local.job("plan")
    listing = next(text for label, text in printed.items() if "--list" in label or "List" in label)
    for cell in cell_ids():
        assert cell in listing, listing
    shards = json.loads(local.values["needs.plan.outputs.shards"])
    assert shards == [1] and local.values["needs.plan.outputs.total"] == "1"

    # shard 1/1: every cell leaves its file and its log; both are uploaded.
    for index in shards:
        local.fresh_workspace()
        local.values["matrix.shard"] = str(index)
        local.job("shard")
        assert sorted(p.stem for p in (report / "cells").glob("*.xml")) == sorted(cell_ids())
        assert len(list((report / "logs").glob("*.log"))) == len(cell_ids())
        artifact = local.upload(wf["jobs"]["shard"])
        assert {p.name for p in artifact.iterdir()} == {"cells", "logs"}

    # merge, a first run: no baseline.
    local.fresh_workspace()
    assert len(local.download(wf["jobs"]["merge"])) == len(shards)
    local.values["steps.baseline.outputs.path"] = ""
    local.job("merge")
    for name in ("junit.xml", "report.json", "report.md", "report.html"):
        assert (report / name).is_file(), name
    first = expand(json.loads((report / "report.json").read_text()))
    assert sorted(c["id"] for c in first["cells"]) == sorted(cell_ids())
    assert all(c["status"] == "ok" for c in first["cells"]), first["cells"]
    for cell in first["cells"]:  # the HTML and JSON link each log, which travels in shards/
        assert (report / cell["log"]).is_file(), cell["log"]
    assert local.summary.read_text() == (report / "report.md").read_text()
    assert first["baseline"] is None

    # merge, the next night: last night's report.json is the baseline.
    kept = tmp_path / "last-green-report.json"
    shutil.copy(report / "report.json", kept)
    local.summary.write_text("")
    local.fresh_workspace()
    local.download(wf["jobs"]["merge"])
    local.values["steps.baseline.outputs.path"] = str(kept)
    local.job("merge")
    second = expand(json.loads((report / "report.json").read_text()))
    assert second["baseline"] is not None
    assert local.summary.read_text().strip()


@pytest.mark.servers
def test_a_shard_that_cannot_run_fails(tmp_path):
    """Unexpected results leave a report and pass the shard; a run that broke leaves none."""
    wf = load(WORKFLOW)
    local = LocalRunner(tmp_path, wf)
    local.values.update({"inputs.servers": "no-such-server", "matrix.shard": "1"})
    local.values["needs.plan.outputs.total"] = "1"
    (step,) = [s for s in steps(wf["jobs"]["shard"]) if "--shard" in s.get("run", "")]
    done = local.step(wf["jobs"]["shard"], step)
    assert done.returncode != 0
    assert "no-such-server" in done.stdout + done.stderr
    assert not (local.checkout / "report" / "report.json").exists()


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("inputs.shards", "2"),
        ("'literal'", "literal"),
        ("inputs.servers || 'all'", "all"),  # '' is falsy: the default wins
        ("inputs.shards || '1'", "2"),
        ("vars.UNSET || 'fallback'", "fallback"),  # repository variables are unset here
        ("inputs.shards == '2'", "true"),
        ("inputs.shards != '2'", "false"),
        ("always() && inputs.shards == '2'", "true"),
        ("success() && inputs.servers", "false"),
    ],
)
def test_the_local_expression_evaluator_follows_github_semantics(expr, expected):
    """The local run trusts this evaluator, so it is checked against GitHub's documented rules:
    ``||`` returns the first truthy operand, comparisons return 'true'/'false'."""
    values = {"inputs.shards": "2", "inputs.servers": ""}
    assert Expressions(values).evaluate(expr) == expected


@pytest.mark.parametrize("expr", ["github.event_name", "inputs.shards == 'a' || inputs.nope"])
def test_the_local_expression_evaluator_refuses_what_it_does_not_know(expr):
    with pytest.raises(AssertionError, match="no value"):
        Expressions({"inputs.shards": "2"}).evaluate(expr)


def test_expressions_are_rendered_inside_text():
    rendered = Expressions({"inputs.shards": "3"}).render("shard ${{ inputs.shards }} of N")
    assert rendered == "shard 3 of N"
