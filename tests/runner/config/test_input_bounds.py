"""Numbers a user types that the runner cannot honour are refused where they enter: a cell
timeout beyond what a wait can take, a shard count that would make as many parts."""

from __future__ import annotations

import tracemalloc

import pytest

from streammatrix import shards
from streammatrix.arguments import build_parser
from streammatrix.config.load import load
from streammatrix.config.model import MAX_TIMEOUT
from streammatrix.errors import ConfigError
from streammatrix.plan import parse_shard


def _matrix(tmp_path, tail: str):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(
        f"servers: [{{name: a, image: 'redis:7.0'}}]\nclients: [{{version: latest}}]\n{tail}\n"
    )
    return path


@pytest.mark.parametrize("text", ["10000000000", "1.0e+10", str(MAX_TIMEOUT + 1), "1.0e+308"])
def test_a_timeout_too_large_to_wait_for_is_refused_in_the_matrix_file(tmp_path, text):
    path = _matrix(tmp_path, f"timeout: {text}")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:3: timeout: ")
    assert f"maximum of {MAX_TIMEOUT}" in str(info.value)


def test_the_longest_timeout_is_accepted(tmp_path):
    assert load(_matrix(tmp_path, f"timeout: {MAX_TIMEOUT}")).timeout == MAX_TIMEOUT


def test_a_timeout_yaml_reads_as_text_says_how_to_write_it(tmp_path):
    path = _matrix(tmp_path, "timeout: 1e3")  # YAML 1.1: a float needs a dot and a sign
    with pytest.raises(ConfigError, match="YAML reads 1e3 as text"):
        load(path)


@pytest.mark.parametrize("text", ["1e10", "9e9", str(MAX_TIMEOUT + 1), "1e400"])
def test_a_timeout_option_too_large_to_wait_for_is_refused(capsys, text):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["run", f"--timeout={text}"])
    assert done.value.code == 2
    assert f"argument --timeout: '{text}' must be" in capsys.readouterr().err
    assert build_parser().parse_args(["run", f"--timeout={MAX_TIMEOUT}"]).timeout == MAX_TIMEOUT


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1/1000000000000", "N must be at most"),
        ("1/" + "9" * 5000, "expected I/N"),
        ("0/4", "I must be between 1 and N"),
        ("5/4", "I must be between 1 and N"),
        ("1/0", "I must be between 1 and N"),
        ("-1/4", "expected I/N"),
        ("+1/4", "expected I/N"),
        ("1/\u0664", "expected I/N"),  # ARABIC-INDIC DIGIT FOUR: int() reads it as 4
        ("1_0/20", "expected I/N"),
        (" 1/4", "expected I/N"),
        ("1/4/8", "expected I/N"),
        ("", "expected I/N"),
    ],
)
def test_a_shard_that_is_not_i_of_a_sane_n_is_refused(text, words):
    with pytest.raises(ConfigError, match=words):
        parse_shard(text)


def test_the_largest_shard_count_is_accepted():
    assert parse_shard(f"{shards.MAX_SHARDS}/{shards.MAX_SHARDS}") == (
        shards.MAX_SHARDS,
        shards.MAX_SHARDS,
    )


def test_splitting_into_many_shards_allocates_nothing_per_shard():
    items = list(range(50))
    tracemalloc.start()
    try:
        last = shards.split(items, 10**6, 10**6, keys=lambda i: [i])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last == [49] and peak < 1_000_000  # a list per shard would be ~60 MB


@pytest.mark.parametrize("total", [1, 2, 3, 7, 49, 50, 51, 200])
def test_every_item_is_in_exactly_one_part_in_order(total):
    items = list(range(50))
    # items 10-14 share a key (one line): they stay in one part
    keys = lambda i: ["line"] if 10 <= i < 15 else [i]  # noqa: E731
    parts = [shards.split(items, i, total, keys=keys) for i in range(1, total + 1)]
    assert [x for part in parts for x in part] == items
    assert sum(1 for part in parts if set(range(10, 15)) & set(part)) == 1
    sizes = [len(p) for p in parts]
    assert max(sizes) <= -(-50 // total) + 4  # about len/total each, a unit more at most


LONG = "9" * 5000  # int() reads at most 4300 digits: packaging raises a plain ValueError


@pytest.mark.parametrize(
    ("tail", "where"),
    [
        (f"clients: [{{name: r, version: '>=4.3,<{LONG}', expand: minor}}]", "clients[0].version"),
        (f"exclude: [{{server: 'redis<{LONG}', reason: x}}]", "exclude[0].server"),
    ],
)
def test_a_version_too_long_to_read_is_one_line_not_a_traceback(tmp_path, tail, where):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    clients = "" if tail.startswith("clients") else "clients: [{version: latest}]\n"
    path.write_text(f"servers: [{{name: a, image: 'redis:7.0'}}]\n{clients}{tail}\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert f": {where}: " in str(info.value), str(info.value)[:300]


def test_a_row_named_like_a_release_too_long_to_read_is_no_release(tmp_path):
    path = _matrix(tmp_path, "")
    path.write_text(
        "servers: [{name: a, image: 'redis:7.0'}]\nclients:\n"
        "  - {name: r, version: '>=4.3,<4.4', expand: minor}\n"
        f"  - {{name: redis-{LONG}, version: '5.0.1'}}\n"
    )
    assert [c.name for c in load(path).clients] == ["r", f"redis-{LONG}"]
