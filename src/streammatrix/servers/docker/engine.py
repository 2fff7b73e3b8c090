"""The Docker engine: where it is, a client for it, and one clear error when it does not answer.

The address is the Docker SDK's own (``DOCKER_HOST``, else the default socket). Whatever the SDK,
or requests beneath it, raises while talking to the engine becomes :class:`EngineUnavailable`,
which names the address that was tried.
"""

from __future__ import annotations

import os

import docker
import requests
from docker.errors import DockerException

from streammatrix.errors import ProviderError

# What talking to the engine can raise: the SDK's errors, the HTTP layer's, the socket's.
ENGINE_ERRORS = (DockerException, requests.RequestException, OSError)


def engine_address() -> str:
    """Where the Docker SDK looks for the engine (DOCKER_HOST, else the default socket)."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class EngineUnavailable(ProviderError):
    """The Docker engine does not answer; names the address that was tried."""

    def __init__(self, reason: str, address: str | None = None) -> None:
        self.address = address or engine_address()
        self.reason = reason
        super().__init__(
            f"the Docker engine at {self.address} does not answer ({reason}); start it, "
            "point DOCKER_HOST at it, or use the binary provider"
        )


def engine_error(exc: BaseException) -> EngineUnavailable:
    """The engine error for an exception the SDK (or requests beneath it) raised."""
    reason = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return EngineUnavailable(str(reason).strip())


def connect(timeout: float = 60.0, ping_timeout: float = 5.0) -> docker.DockerClient:
    """A client for the engine the environment names, pinged within ``ping_timeout`` seconds."""
    try:
        client = docker.from_env(timeout=ping_timeout)
        client.ping()
    except ENGINE_ERRORS as exc:
        raise engine_error(exc) from exc
    client.api.timeout = timeout
    return client
