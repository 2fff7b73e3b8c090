"""Range rows: what matrix.yaml accepts, and how a range expands into real releases listed
from the package index (PyPI's simple API; these tests read the real listing of redis)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from streammatrix.config.declared import read_declared
from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import plan
from streammatrix.releases import Release, chosen, expand, in_range, list_releases


def write(tmp_path: Path, clients: str, extra: str = "") -> Path:
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    text = f"""\
        python: ["3.11", "3.13"]
        servers:
          - {{name: redis-7.0, image: "redis:7.0"}}
        clients:
        {clients}
        {extra}
        """
    path.write_text(textwrap.dedent(text))
    return path


def test_a_range_expands_into_the_first_and_last_release_of_each_minor_line(tmp_path):
    matrix = load(write(tmp_path, '  - {name: redis-4, version: ">=4.1,<4.4"}'))
    assert matrix.client("redis-4").expand == "minor"
    expanded, rows = expand(matrix)
    assert [c.name for c in expanded.clients] == [
        "redis-4.1.0", "redis-4.1.4", "redis-4.2.0", "redis-4.2.2", "redis-4.3.0", "redis-4.3.6",
    ]  # fmt: skip
    assert all(c.row == "redis-4" and c.version == f"=={c.name[6:]}" for c in expanded.clients)
    every = [str(r.version) for r in rows["redis-4"].releases]
    assert every[:6] == ["4.1.0", "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.2.0"]
    assert not any(Version(v).is_prerelease for v in every)  # 4.2.0rc1 etc. are left out
    assert expanded.clients[0].releases == tuple(every)


def test_expand_all_takes_every_release_and_prereleases_only_when_asked(tmp_path):
    rows = '  - {name: r, version: ">=4.2.0rc1,<4.2.1", expand: all, prereleases: true}'
    expanded, _ = expand(load(write(tmp_path, rows)))
    names = [c.name for c in expanded.clients]
    assert names[-1] == "redis-4.2.0" and len(names) > 1
    assert all(Version(n[6:]).is_prerelease for n in names[:-1])


def test_yanked_releases_are_left_out():
    releases = [Release(Version(v), yanked=(v == "1.1")) for v in ("1.0", "1.1", "1.2")]
    row = load_row(">=1.0")
    assert [str(r.version) for r in in_range(row, releases)] == ["1.0", "1.2"]
    assert [str(r.version) for r in chosen("minor", in_range(row, releases))] == ["1.0", "1.2"]


def load_row(version: str):
    from streammatrix.config.model import ClientSpec

    return ClientSpec(name="x", version=version, expand="all")


def test_the_listing_comes_from_the_index_with_requires_python():
    releases = {str(r.version): r for r in list_releases("redis")}
    assert releases["7.1.0"].requires_python == ">=3.10"
    assert releases["4.3.4"].requires_python == ">=3.6"


def test_a_row_python_and_selection_by_row_name(tmp_path):
    rows = "\n".join(
        [
            '  - {name: old, version: "4.6.0"}',
            '          - {name: redis-4, version: ">=4.3.5,<4.4", python: ["3.11"]}',
        ]
    )
    expanded, _ = expand(load(write(tmp_path, rows)))
    cells = plan(expanded, clients=["redis-4"])
    assert [c.id for c in cells] == [
        "redis-7.0--redis-4.3.5--py3.11",
        "redis-7.0--redis-4.3.6--py3.11",
    ]
    assert {c.python for c in plan(expanded) if c.client.name == "old"} == {"3.11", "3.13"}


@pytest.mark.parametrize(
    ("clients", "extra", "words"),
    [
        ('  - {version: ">=4", expand: some}', "", "'some' is not one of: minor, all"),
        ('  - {version: "4.6.0"}', "declared: ['redis>=>4']", "is not a requirement"),
        ('  - {version: "4.6.0"}', "bisect: maybe", "expected a boolean"),
    ],
)
def test_bad_range_keys_are_clear_errors(tmp_path, clients, extra, words):
    with pytest.raises(ConfigError, match=r"matrix\.yaml") as err:
        load(write(tmp_path, clients, extra))
    assert words in str(err.value)


def test_a_range_that_matches_no_release_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no release of redis matches"):
        expand(load(write(tmp_path, '  - {version: ">=4.2.3,<4.3"}')))


def test_declared_dependencies_come_from_a_pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\ndependencies = ["redis>=4.0", "attrs"]\n')
    assert read_declared(path) == ("redis>=4.0", "attrs")
    path.write_text('[project]\ndependencies = ["redis>=>4"]\n')
    with pytest.raises(ConfigError, match="is not a requirement"):
        read_declared(path)
