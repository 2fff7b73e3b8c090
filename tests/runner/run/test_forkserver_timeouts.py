"""The fork server takes any timeout a caller passes, however long: a wait longer than select
or a lock can take (OverflowError beyond ~9.2e9 s) is waited for in slices."""

from __future__ import annotations

import os
import sys
import textwrap

from streammatrix.run.cell import plugin_path, shared_environ
from streammatrix.run.forkserver import ForkServer
from streammatrix.run.forkserver_serve import Channel


def test_the_channel_reads_a_message_with_a_timeout_beyond_what_select_takes():
    read, write = os.pipe()
    try:
        os.write(write, b'{"hello": 1}\n')
        channel = Channel(read)
        assert channel.recv(1e10) == {"hello": 1}
        assert channel.recv(0.05) is None  # nothing more: a short wait still ends
    finally:
        os.close(read)
        os.close(write)


def test_a_cell_runs_with_a_timeout_of_1e10_seconds(tmp_path):
    environ = shared_environ(plugin_path(tmp_path / "envs"))
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "test_ok.py").write_text(textwrap.dedent("def test_ok():\n    pass\n"))
    args = [str(folder / "test_ok.py"), "-p", "no:cacheprovider", "-q"]
    with ForkServer.start(sys.executable, environ) as server:
        assert server.run(args, environ, folder, tmp_path / "cell.log", timeout=1e10) == 0
