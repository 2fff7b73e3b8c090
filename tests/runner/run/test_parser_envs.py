"""A client environment per parser, with real installs: the python parser's holds no hiredis
(and is the client's own), the hiredis one holds it and its client uses it; a hiredis that does
not install, or that the client rejects, is a skip that says why; nothing half-made is kept."""

from __future__ import annotations

import json
import subprocess

import pytest
from support import PY

from streammatrix.config.model import ClientSpec
from streammatrix.run import parsers
from streammatrix.run.envs import STAMP, ensure_env, env_name


def has_hiredis(python) -> bool:
    done = subprocess.run([str(python), "-c", "import hiredis"], capture_output=True, check=False)
    return done.returncode == 0


def test_python_and_hiredis_environments_are_separate(tmp_path):
    client = ClientSpec("redis-5.0", version="==5.0.8", parsers=("python", "hiredis"))
    plain = ensure_env(client, PY, tmp_path, parser="python")
    fast = ensure_env(client, PY, tmp_path, parser="hiredis")
    assert plain.location != fast.location
    assert plain.location.name == f"matrix-redis-5.0-py{PY}"  # the client's own environment
    assert fast.location.name == f"matrix-redis-5.0-hiredis-py{PY}"
    assert not has_hiredis(plain.python)
    assert has_hiredis(fast.python)
    assert (plain.parser_class, plain.parser_version) == ("_RESP2Parser", "")
    assert fast.parser_class == "_HiredisParser"
    assert fast.parser_version.startswith("hiredis 3.")  # the newest the client admits
    assert fast.client_version == plain.client_version == "5.0.8"
    # both are reused as they are, and the python one is the one a row without parsers uses
    assert ensure_env(client, PY, tmp_path, parser="hiredis").reused
    unclaimed = ensure_env(ClientSpec("redis-5.0", version="==5.0.8"), PY, tmp_path)
    assert unclaimed.reused and unclaimed.location == plain.location
    assert unclaimed.parser is None and unclaimed.parser_class == ""


def test_a_pinned_hiredis_is_installed_and_a_new_pin_remakes_the_environment(tmp_path):
    client = ClientSpec("redis-4.6", version="==4.6.0", parsers=("hiredis",), hiredis="==2.3.2")
    env = ensure_env(client, PY, tmp_path, parser="hiredis")
    assert (env.parser_class, env.parser_version) == ("HiredisParser", "hiredis 2.3.2")
    recorded = json.loads((env.location / STAMP).read_text())
    assert recorded["parser_requirements"] == ["redis[hiredis]==4.6.0", "hiredis==2.3.2"]
    other = ClientSpec("redis-4.6", version="==4.6.0", parsers=("hiredis",), hiredis="==3.0.0")
    again = ensure_env(other, PY, tmp_path, parser="hiredis")
    assert not again.reused
    assert again.parser_version == "hiredis 3.0.0"


def test_a_hiredis_without_a_wheel_is_a_skip_that_says_so(tmp_path):
    client = ClientSpec("redis-5.0", version="==5.0.8", parsers=("hiredis",), hiredis="==1.1.0")
    with pytest.raises(parsers.ParserNotInstallable) as caught:
        ensure_env(client, PY, tmp_path, parser="hiredis")
    message = str(caught.value)
    assert message.startswith(
        f"the hiredis parser does not install beside redis 5.0.8 on python {PY}: "
    )
    assert "hiredis==1.1.0 has no usable wheels" in message
    assert "\n" not in message
    assert not (tmp_path / env_name(client, PY, "hiredis")).exists()


def test_a_hiredis_the_client_rejects_is_a_skip_naming_the_clients_bound(tmp_path):
    client = ClientSpec("redis-5.2", version="==5.2.1", parsers=("hiredis",), hiredis="==2.4.0")
    with pytest.raises(parsers.ParserNotInstallable, match=r"depends on hiredis>=3\.0\.0"):
        ensure_env(client, PY, tmp_path, parser="hiredis")
    assert not (tmp_path / env_name(client, PY, "hiredis")).exists()


def test_a_newest_client_is_never_traded_for_an_older_one_that_admits_the_hiredis(tmp_path):
    """``latest`` with an old hiredis: the installer could pick an old redis whose extra admits
    it; the client stays the release the environment has, and the parser is skipped."""
    client = ClientSpec("redis-latest", version="", parsers=("hiredis",), hiredis="==2.4.0")
    with pytest.raises(parsers.ParserNotInstallable, match=r"depends on hiredis>="):
        ensure_env(client, PY, tmp_path, parser="hiredis")


def test_a_hiredis_the_client_installs_but_does_not_use_is_a_skip(tmp_path):
    """valkey-py 6.0.2 installs beside hiredis 3.x and silently keeps its own parser: the
    environment says so before any cell runs, from the parser class a connection gets."""
    client = ClientSpec(
        "valkey-py", package="valkey", module="valkey", version="==6.0.2", parsers=("hiredis",)
    )
    with pytest.raises(parsers.ParserNotInstallable) as caught:
        ensure_env(client, PY, tmp_path, parser="hiredis")
    assert str(caught.value).startswith("valkey 6.0.2 does not use hiredis 3.")
    assert str(caught.value).endswith(": its connections get _RESP2Parser (the python parser)")


PYTHON_PARSER = {"class": "_RESP2Parser", "versions": {}}
HIREDIS_IGNORED = {"class": "_RESP2Parser", "versions": {"hiredis": "2.4.0"}}
HIREDIS_USED = {"class": "_HiredisParser", "versions": {"hiredis": "3.1.0"}}
IMPORT_REFUSED = {"versions": {"hiredis": "2.0.0"}, "error": "ImportError: hiredis >= 3 needed"}


def test_the_parser_a_client_picks_decides():
    """What the probe found in an environment (its shapes as measured on real installs)."""
    client = ClientSpec("c", version="==5.1.1")
    assert parsers.check(PYTHON_PARSER, client, "5.1.1", "python") == "_RESP2Parser"
    assert parsers.check(HIREDIS_USED, client, "5.1.1", "hiredis") == "_HiredisParser"
    with pytest.raises(parsers.ParserNotInstallable) as ignored:
        parsers.check(HIREDIS_IGNORED, client, "5.1.1", "hiredis")
    assert str(ignored.value) == (
        "redis 5.1.1 does not use hiredis 2.4.0: its connections get _RESP2Parser "
        "(the python parser)"
    )
    with pytest.raises(parsers.ParserNotInstallable, match="the python parser cannot be had"):
        parsers.check(HIREDIS_USED, client, "5.1.1", "python")
    with pytest.raises(parsers.ParserNotInstallable, match="cannot make a connection: Import"):
        parsers.check(IMPORT_REFUSED, client, "5.1.1", "hiredis")


def test_what_a_parser_installs():
    client = ClientSpec("c", package="redis", version="==5.0.8", hiredis=">=3")
    assert parsers.requirements(client, "python") == []
    assert parsers.requirements(client, None) == []
    assert parsers.requirements(client, "hiredis") == ["redis[hiredis]==5.0.8", "hiredis>=3"]
    assert parsers.requirements(client, "hiredis", "5.0.8") == [
        "redis[hiredis]==5.0.8",
        "hiredis>=3",
    ]
    assert parsers.only_binary("hiredis") == ["hiredis"] and parsers.only_binary("python") == []
    assert not parsers.pinned(client, "hiredis") and parsers.pinned(client, "python")
    assert parsers.pinned(ClientSpec("c", hiredis="==3.1.0"), "hiredis")


def test_the_parser_is_asked_once_per_environment_as_made(tmp_path, monkeypatch):
    """An environment reused as it is keeps the parser found when it was made (no interpreter
    start per run); one remade (--refresh, another hiredis) is asked again."""
    asked = []
    real = parsers.probe

    def counted(python, client):
        asked.append(python)
        return real(python, client)

    monkeypatch.setattr(parsers, "probe", counted)
    client = ClientSpec("redis-5.0", version="==5.0.8", parsers=("python", "hiredis"))
    fast = ensure_env(client, PY, tmp_path, parser="hiredis")
    plain = ensure_env(client, PY, tmp_path, parser="python")
    assert len(asked) == 2
    again = ensure_env(client, PY, tmp_path, parser="hiredis")
    assert again.reused and len(asked) == 2
    assert (again.parser_class, again.parser_version) == (fast.parser_class, fast.parser_version)
    assert ensure_env(client, PY, tmp_path, parser="python").parser_class == plain.parser_class
    assert len(asked) == 2
    remade = ensure_env(client, PY, tmp_path, parser="hiredis", refresh=True)
    assert not remade.reused and len(asked) == 3
    assert ensure_env(client, PY, tmp_path, parser="hiredis").reused and len(asked) == 3
    # the record belongs to the stamp it was made beside: an environment whose stamp changed
    # (remade by another run, or by hand) is asked again, and a record of another is not read
    stamp = fast.location / STAMP
    stamp.write_text(stamp.read_text().replace("}", ', "touched": 1}', 1))
    ensure_env(client, PY, tmp_path, parser="hiredis")
    assert len(asked) == 4
    (fast.location / parsers.RECORD).write_text("{not json")
    assert ensure_env(client, PY, tmp_path, parser="hiredis").parser_class == fast.parser_class
    assert len(asked) == 5


def test_a_parser_that_is_not_used_stays_a_skip_when_its_environment_is_reused(tmp_path):
    client = ClientSpec(
        "valkey-py", package="valkey", module="valkey", version="==6.0.2", parsers=("hiredis",)
    )
    for _ in range(2):
        with pytest.raises(parsers.ParserNotInstallable, match=r"does not use hiredis 3\."):
            ensure_env(client, PY, tmp_path, parser="hiredis")


def test_an_environment_that_cannot_keep_the_answer_is_asked_each_time(tmp_path):
    """Where the answer cannot be written (here: its name is taken by a directory; a read-only
    envdir alike), the environment still serves and is asked on each use, never an error."""
    client = ClientSpec("redis-5.0", version="==5.0.8", parsers=("hiredis",))
    made = ensure_env(client, PY, tmp_path, parser="hiredis")
    record = made.location / parsers.RECORD
    record.unlink()
    record.mkdir()
    for _ in range(2):
        again = ensure_env(client, PY, tmp_path, parser="hiredis")
        assert again.reused and again.parser_class == "_HiredisParser"
    assert record.is_dir() and not list(made.location.glob(f"{parsers.RECORD}.*"))
