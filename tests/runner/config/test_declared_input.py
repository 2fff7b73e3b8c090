"""--declared: a pyproject.toml that is not one is one clear error (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from streammatrix.config.declared import read_declared
from streammatrix.errors import EXIT_USAGE, ConfigError


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"project = 5\n", "project is 5, not a [project] table"),
        (b'project = "x"\n', "project is 'x', not a [project] table"),
        (b"\xff\xfe[project]\n", "not UTF-8 text (byte 0xff at offset 0)"),
        (b'[project]\ndependencies = "redis"\n', "dependencies is 'redis', not a list"),
        (b"[project]\ndependencies = [5]\n", "5 is not a requirement string"),
        (b"[project]\ndependencies = [{a = 1}]\n", "{'a': 1} is not a requirement string"),
        (b'[project]\ndependencies = ["redis>=4", "re dis"]\n', "'re dis' is not a requirement"),
        (b"[project\n", "not valid TOML"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    ],
)
def test_a_pyproject_that_is_not_one_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / "pyproject.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_declared(path)
    message = str(caught.value)
    assert message.startswith(f"--declared {path}: ") and words in message, message
    assert "\n" not in message and caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("where", ["directory", "device"])
def test_something_that_is_not_a_file_is_refused_without_reading_it(tmp_path, where):
    path = tmp_path if where == "directory" else "/dev/zero"  # /dev/zero: read forever
    with pytest.raises(ConfigError, match="not a file"):
        read_declared(path)


def test_a_byte_order_mark_is_read_and_a_good_file_gives_its_dependencies(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'\xef\xbb\xbf[project]\ndependencies = ["redis>=4.0", "valkey"]\n')
    assert read_declared(path) == ("redis>=4.0", "valkey")
    path.write_bytes(b'[project]\nname = "x"\n')
    assert read_declared(path) == ()
