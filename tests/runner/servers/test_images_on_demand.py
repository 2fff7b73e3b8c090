"""A test that needs a server image makes it (offline, from the row's binary, as
`nox -s images` does), so `nox -s tests` needs no step before it and no order among tests; and
processes that want one image at once build it once.

Nothing shared is touched: the images made here are under throwaway tags, and removed after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from support import ROOT
from support.engine import by_name, engine
from support.servers import python

pytestmark = pytest.mark.docker


def remove_tagged(client, prefix: str) -> None:
    """Remove the images whose tags start with ``prefix`` (the ones this test made)."""
    for image in client.images.list():
        if any(tag.startswith(prefix) for tag in image.tags):
            for tag in (t for t in image.tags if t.startswith(prefix)):
                client.images.remove(tag, force=True)


BUILD = """
import dataclasses, pathlib, sys, time
from support.engine import by_name
from streammatrix.servers.images import build_images

spec = dataclasses.replace(by_name("redis-6.2"), image=sys.argv[1])
go = pathlib.Path(sys.argv[2])
while not go.exists():  # both processes look for the image at the same moment
    time.sleep(0.005)
[result] = build_images([spec], progress=lambda _: None)
print(result.status, result.error)
"""


def test_two_processes_wanting_one_image_build_it_once(tmp_path):
    client = engine()
    by_name("redis-6.2")  # in the catalogue
    tag = f"streammatrix-test/once-{uuid.uuid4().hex[:8]}:1"
    go = tmp_path / "go"
    procs = [
        python(BUILD.replace("sys.argv[1]", repr(tag)).replace("sys.argv[2]", repr(str(go))),
               stdout=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    try:
        go.write_text("")
        said = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
        assert [p.returncode for p in procs] == [0, 0], said
        # one built it, the other waited for the tag's lock and found it there
        assert [line.split()[0] for line in said] == ["built", "present"], said
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        remove_tagged(client, tag)


@pytest.mark.slow
def test_tests_that_need_images_make_them_on_an_engine_without_them(tmp_path):
    """The docker tests run against an engine lacking their images: the catalogue's tags under
    a throwaway namespace (STREAMMATRIX_TEST_IMAGES), built by the tests themselves."""
    client = engine()
    namespace = f"streammatrix-test-{uuid.uuid4().hex[:8]}"
    tests = [
        "tests/runner/bench/test_bench.py::test_docker_starts_and_a_missing_image_are_reported",
        "tests/runner/servers/test_select.py::test_auto_keeps_docker_for_servers_whose_image_is_there",
    ]
    env = {**os.environ, "STREAMMATRIX_TEST_IMAGES": namespace, "STREAMMATRIX_STRICT": "1"}
    env.pop("VIRTUAL_ENV", None)
    try:
        assert not [i for i in client.images.list() if any(namespace in t for t in i.tags)]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert "2 passed" in done.stdout, done.stdout[-4000:]
        made = sorted(t for i in client.images.list() for t in i.tags if t.startswith(namespace))
        assert made == [f"{namespace}/redis:7.0", f"{namespace}/valkey/valkey:8.0"]
    finally:
        remove_tagged(client, f"{namespace}/")
