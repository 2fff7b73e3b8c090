"""Every error the runner raises on purpose, under one root that carries its exit code.

``cli.main`` catches :class:`StreamMatrixError` once and exits with ``exit_code``; anything else
is a bug and keeps its traceback. Errors that only ever end one cell (a server that does not
start, an environment that cannot be made) are caught by the run and written into that cell's
file; they still derive from the root, so one that escapes is reported the same way.
"""

from __future__ import annotations

EXIT_OK = 0  # every result as expected
EXIT_UNEXPECTED = 1  # an unexpected result (listed)
EXIT_USAGE = 2  # unusable input: matrix.yaml, options, engine, a source
EXIT_OUTPUT = 3  # the report could not be written (not a directory, no space, no permission)
EXIT_INTERRUPTED = 130  # SIGINT/SIGTERM: servers and cells were stopped first


class StreamMatrixError(Exception):
    """Root of the runner's own errors; the message is meant for the user, as it is."""

    exit_code = EXIT_USAGE


class ConfigError(StreamMatrixError):
    """matrix.yaml or an option is not usable; the message names file, key path and line."""


class ProviderError(StreamMatrixError):
    """A provider cannot work at all (engine down, binary source unusable). One clear message."""


class ServerStartError(StreamMatrixError):
    """One server did not come up; the message carries its last log lines."""


class EnvError(StreamMatrixError):
    """A client environment could not be made; the message says why."""


class PythonNotFound(EnvError):
    """The requested Python is not on this machine: the cell is skipped, not an error."""


class MergeError(StreamMatrixError):
    """A cell file cannot be merged; the message names the file and what is wrong with it."""


class OutputError(StreamMatrixError):
    """A report or cell file cannot be written where it was asked for."""

    exit_code = EXIT_OUTPUT
