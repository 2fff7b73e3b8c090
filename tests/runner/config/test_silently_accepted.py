"""matrix.yaml values that were accepted and then did nothing (an expectation for a protocol no
cell claims) or failed only at run time (a release the server never reports as written): refused
when the file is read, naming the key and the values that would work."""

from __future__ import annotations

import pytest

from streammatrix.config.load import load
from streammatrix.errors import ConfigError

HEAD = "servers: [{name: r, image: 'redis:7.0'}]\nclients: [{version: '5.0.*'}]\n"


def _load(tmp_path, text: str):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return path, load


@pytest.mark.parametrize(
    ("tail", "words"),
    [
        ("protocols: [2, 3]\nexpected: [{feature: xadd, protocol: resp3, outcome: fail}]",
         "expected[0].protocol: 'resp3' matches none of the protocols the matrix runs "
         "(allowed: *, 2, 3)"),
        ("protocols: [2, 3]\nexpected: [{feature: xadd, protocol: 4, outcome: fail}]",
         "'4' matches none of the protocols the matrix runs (allowed: *, 2, 3)"),
        ("protocols: [2]\nexpected: [{feature: xadd, protocol: 3, outcome: fail}]",
         "'3' matches none of the protocols the matrix runs (allowed: *, 2)"),
        ("expected: [{feature: xadd, protocol: 3, outcome: fail}]",
         "the matrix has no protocols:, so its cells claim none"),
        ("protocols: [2]\nexpected: [{feature: xadd, protocol: \"x\\nerror: y\", outcome: fail}]",
         "'x\\nerror: y' matches none"),
    ],
)  # fmt: skip
def test_an_expectation_for_a_protocol_no_cell_claims_is_refused(tmp_path, tail, words):
    path, read = _load(tmp_path, HEAD + tail + "\n")
    with pytest.raises(ConfigError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}:") and words in str(info.value), info.value
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("pattern", ["3", "3*", "*", "2"])
def test_an_expectation_for_a_protocol_the_matrix_runs_is_kept(tmp_path, pattern):
    tail = f"protocols: [2, 3, 3-unified]\nexpected: [{{protocol: '{pattern}', outcome: fail}}]\n"
    path, read = _load(tmp_path, HEAD + tail)
    assert read(path).expected[0].protocol == pattern


@pytest.mark.parametrize(
    ("servers", "words"),
    [
        ("[{name: r, releases: ['5.0.10.0'], image: 'redis:{release}'}]",
         "servers[0].releases[0]: release 5.0.10.0: a server reports at most three numbers"),
        ("[{name: r, releases: ['5.0.9', '7.2.4.1'], image: 'redis:{release}'}]",
         "servers[0].releases[1]: release 7.2.4.1: a server reports at most three numbers"),
        ("[{name: r, version: '7.0.15.1', image: 'redis:7.0'}]",
         "servers[0].version: 7.0.15.1: a server reports at most three numbers (7.0.15)"),
        ("[{name: r, version: '07.0', image: 'redis:7.0'}]",
         "servers[0].version: 07.0: write it as the server reports it (7.0)"),
        ("[{name: r, version: '\u0667.0', image: 'redis:7.0'}]", "servers[0].version: "),
    ],
)  # fmt: skip
def test_a_version_the_server_never_reports_as_written_is_refused(tmp_path, servers, words):
    path, read = _load(tmp_path, f"servers: {servers}\nclients: [{{version: '5.0.*'}}]\n")
    with pytest.raises(ConfigError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}:1: ") and words in str(info.value), info.value


def test_versions_the_server_reports_are_kept(tmp_path):
    servers = "[{name: r, version: '7.0', image: 'x'}, {name: s, version: '7.2.4', image: 'y'}]"
    path, read = _load(tmp_path, f"servers: {servers}\nclients: [{{version: '5.0.*'}}]\n")
    assert [s.version for s in read(path).servers] == ["7.0", "7.2.4"]
