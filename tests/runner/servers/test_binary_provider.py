"""The binary provider on real servers: every catalogue entry, and nothing left running after any
ending (stop, an exception, SIGINT/SIGTERM to the runner, SIGKILL of the runner)."""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import redis
from support import servers as h

from streammatrix import processes
from streammatrix.errors import ServerStartError
from streammatrix.plugin import resp
from streammatrix.servers.base import serve
from streammatrix.servers.binary import provider as binary
from streammatrix.servers.binary.provider import BinaryProvider, BinaryServer
from streammatrix.versions import matches_claim

pytestmark = pytest.mark.servers

CATALOGUE = h.catalogue()
QUICK = "redis-6.2"  # a catalogue entry that needs no extra libraries


@pytest.fixture(scope="module")
def provider() -> BinaryProvider:
    """A provider on the user's cache, with every catalogue binary already fetched."""
    for spec in CATALOGUE:
        h.fetch(spec)
    return BinaryProvider()


def assert_gone(server: BinaryServer, pid: int) -> None:
    assert h.gone(pid)
    assert not server.alive()
    assert not server.workdir.exists()
    assert not resp.responsive(server.host, server.port)
    assert server not in processes.tracked()


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_every_catalogue_server_starts_and_is_what_its_row_claims(spec, provider):
    with serve(provider, spec) as server:
        assert server.alive()
        assert server.host == "127.0.0.1"
        assert matches_claim(spec.version, server.identity.version)
        assert server.identity.version == h.SHIPPED[spec.name]
        assert server.identity.name == spec.name.split("-")[0]
        client = redis.Redis.from_url(server.url, protocol=2)  # Redis 5 has no HELLO 3
        client.xadd("s", {"f": "v"})
        assert client.xlen("s") == 1
        client.close()
        assert "Ready to accept connections" in server.logs()
        pid = server.process.pid
    assert_gone(server, pid)


def test_matches_claim_on_dotted_prefixes():
    assert matches_claim("7.0", "7.0.15")
    assert matches_claim("7", "7.2.4")
    assert matches_claim("7.2.4", "7.2.4")
    assert not matches_claim("7.0", "7.01.1")
    assert not matches_claim("7.2.4", "7.2")
    assert not matches_claim("", "7.2.4")


def test_a_wrong_version_claim_names_both_and_leaves_nothing(provider):
    spec = dataclasses.replace(h.by_name(QUICK), version="7.0")
    with pytest.raises(ServerStartError) as info:
        provider.start(spec)
    message = str(info.value)
    assert f"server {QUICK!r}" in message
    assert "claims version 7.0 but the server reports redis 6.2.5" in message
    assert not processes.tracked()


def test_a_server_that_exits_at_start_reports_its_log(provider):
    spec = dataclasses.replace(h.by_name(QUICK), args=("--no-such-option",))
    with pytest.raises(ServerStartError) as info:
        provider.start(spec)
    message = str(info.value)
    assert f"server {QUICK!r}" in message and "exited before answering PING" in message
    assert "no-such-option" in message  # the server's own complaint, from its log
    assert not processes.tracked()


def test_a_port_taken_before_the_server_binds_it_is_retried(provider, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [taken.getsockname()[1]]
        real = binary._free_port
        monkeypatch.setattr(binary, "_free_port", lambda: ports.pop() if ports else real())
        with serve(provider, h.by_name(QUICK)) as server:
            assert server.port != taken.getsockname()[1]
            assert resp.responsive(server.host, server.port)


def test_stop_is_idempotent(provider):
    server = provider.start(h.by_name(QUICK))
    pid = server.process.pid
    server.stop()
    server.stop()
    assert_gone(server, pid)


def test_an_exception_in_the_block_stops_the_server(provider):
    with pytest.raises(RuntimeError, match="boom"), serve(provider, h.by_name(QUICK)) as server:
        pid = server.process.pid
        raise RuntimeError("boom")
    assert_gone(server, pid)


def test_a_server_started_from_a_short_lived_thread_outlives_it(provider):
    started: list[BinaryServer] = []
    thread = threading.Thread(target=lambda: started.append(provider.start(h.by_name(QUICK))))
    thread.start()
    thread.join()
    server = started[0]
    try:
        assert server.alive() and resp.responsive(server.host, server.port)
    finally:
        server.stop()


RUNNER = """
import json, time
from support.servers import by_name
from streammatrix.processes import stop_on_signals
from streammatrix.servers.base import serve
from streammatrix.servers.binary.provider import BinaryProvider
with stop_on_signals(), serve(BinaryProvider(), by_name(NAME)) as server:
    print(json.dumps({"pid": server.process.pid, "port": server.port,
                      "workdir": str(server.workdir)}), flush=True)
    while True:
        time.sleep(1)
"""


def runner(name: str) -> tuple[subprocess.Popen[str], dict]:
    """A separate runner process serving ``name``, and what it started."""
    process = h.python(RUNNER.replace("NAME", repr(name)), stdout=subprocess.PIPE)
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())
    assert resp.responsive("127.0.0.1", started["port"])
    return process, started


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("name", [QUICK, "redis-8.0"])
def test_a_signal_to_the_runner_stops_its_server(provider, name, sig):
    process, started = runner(name)
    process.send_signal(sig)
    process.communicate()
    assert h.gone(started["pid"])
    assert not resp.responsive("127.0.0.1", started["port"])
    assert not Path(started["workdir"]).exists()


@pytest.mark.parametrize("name", [QUICK, "redis-8.0"])
def test_a_runner_killed_outright_takes_its_server_with_it(provider, name):
    process, started = runner(name)
    process.kill()
    process.communicate()
    assert h.eventually(lambda: h.gone(started["pid"])), "the server outlived its runner"
    assert not resp.responsive("127.0.0.1", started["port"])
    assert Path(started["workdir"]) in binary.reap()
    assert not Path(started["workdir"]).exists()
