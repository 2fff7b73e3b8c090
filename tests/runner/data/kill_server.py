"""Added to a copy of the stream suite by the end-to-end test: in the one cell named by
KILL_CELL, it shuts the server down in the middle of the run (the test file sorts first)."""

import json
import os
import socket
from urllib.parse import urlparse


def test_shutdown_server_of_one_cell():
    cell = json.loads(os.environ.get("STREAMMATRIX_CELL", "{}")).get("id")
    if cell != os.environ.get("KILL_CELL"):
        return
    url = urlparse(os.environ["REDIS_URL"])
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        sock.recv(100)  # the server closes the connection as it exits
