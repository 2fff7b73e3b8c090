"""Run one server under the Docker provider until a signal ends this process.

Prints ``READY <run id> <container name> <port>`` once the server answers. Used by the tests of
what SIGINT, SIGTERM and SIGKILL leave behind.
"""

from __future__ import annotations

import signal
import sys
import time

from streammatrix import processes
from streammatrix.config.model import ServerSpec
from streammatrix.servers import base
from streammatrix.servers.docker.provider import DockerProvider


def main(image: str) -> None:
    # A shell may start background jobs with SIGINT ignored; a runner wants Ctrl-C to count.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    provider = DockerProvider()
    with (
        processes.stop_on_signals(),
        base.serve(provider, ServerSpec("signalled", image=image)) as s,
    ):
        assert s.container is not None
        print(f"READY {provider.run_id} {s.container.name} {s.port}", flush=True)
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
