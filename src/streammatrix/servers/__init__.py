"""Server providers: a running Redis-protocol server behind one small interface."""

from streammatrix.servers.base import (
    Provider,
    ProviderError,
    RunningServer,
    ServerStartError,
    serve,
)

__all__ = ["Provider", "ProviderError", "RunningServer", "ServerStartError", "serve"]
