"""What a failure of a stream-suite test means: the class of one exception (``classify_failure``).

* the client lacks the API (missing method on the client, its pipeline or module; unexpected
  keyword argument; a module of the client package that does not exist) ->
  ``unsupported-client``; an import of anything else that fails is a ``fail`` (``error`` in
  set-up), since it is the environment that is broken, not the client that is older;
* the server rejects the command (a ``ResponseError`` saying unknown command, syntax error, ...),
  a cluster client finds no such command in the server's COMMAND table, or the server leaves a
  field out of its reply (``KeyError``) -> ``unsupported-server`` when the server's
  ``redis_version`` is below ``since``, ``fail`` otherwise;
* anything else -> ``fail``.

Only the standard library, packaging and the modules of ``streammatrix.plugin`` are imported
here (see ``pytest_plugin``).
"""

from __future__ import annotations

import re
import sys
import types
from typing import Any

from packaging.version import InvalidVersion, Version

from streammatrix.plugin import outcomes
from streammatrix.plugin.properties import _client_module

REASON_MAX = 200

# What servers older than a feature answer when they meet it (each one seen on a real server):
# 6.0 "unknown command `XAUTOCLAIM`", "syntax error" (XTRIM MINID, XPENDING IDLE), "Invalid stream
# ID specified as stream command argument" (XADD NOMKSTREAM, XREAD +), 6.2 "Unknown subcommand or
# wrong number of arguments for 'CREATE'" (XGROUP CREATE ENTRIESREAD), "wrong number of arguments
# for 'xsetid' command" (XSETID ENTRIESADDED).
_REJECTED = re.compile(
    r"unknown command"
    r"|unknown (?:\w+ )?subcommand"
    r"|syntax error"
    r"|unrecognized option"
    r"|unknown option"
    r"|wrong number of arguments"
    r"|invalid stream id",
    re.IGNORECASE,
)
# A cluster client looks each command up in the server's own COMMAND table before it routes it
# (redis-py: "XACKDEL command doesn't exist in Redis commands"; 4.1-4.2: "No way to dispatch this
# command to Redis Cluster. Missing key." for a command the table does not list): the server
# does not have it, when it is older than the feature; at or above, it is the client's failure.
_NOT_IN_COMMAND_TABLE = re.compile(
    r"command doesn't exist in \w+ commands|no way to dispatch this command to \w+ cluster",
    re.IGNORECASE,
)
# "unknown command 'XACKDEL', with args beginning with: 'key' 'group' ..." -> keep the command
_ARGS_ECHO = re.compile(r",? *with args beginning with:.*$")
_UNEXPECTED_KEYWORD = re.compile(r"unexpected keyword argument")
_MODULE_ATTR = re.compile(r"module '([\w.]+)' has no attribute")
_OBJECT_ATTR = re.compile(r"'(\w+)' object has no attribute")
# "No module named 'redis.asyncio'", "cannot import name 'asyncio' from 'redis' (...)"
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '\w+' from '([\w.]+)'")


def _older(version: str, since: str) -> bool | None:
    """``version < since`` as PEP 440 versions (the runner's comparator too); None: not versions."""
    try:
        return Version(version) < Version(since)
    except InvalidVersion:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = _ARGS_ECHO.sub("", text[0]) if text else ""
    out = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return out if len(out) <= REASON_MAX else out[: REASON_MAX - 3] + "..."


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception inside an exception group of one (asyncio.TaskGroup and the like)."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if isinstance(inner, (list, tuple)) and len(inner) == 1:
            exc = inner[0]
        else:
            return exc


def _belongs_to_client(obj: Any, package: str) -> bool:
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        cls = obj if isinstance(obj, type) else type(obj)
        name = getattr(cls, "__module__", "") or ""
    return name == package or name.startswith(package + ".")


def _client_class_named(name: str, package: str) -> bool:
    for modname, module in list(sys.modules.items()):
        if module is None or not (modname == package or modname.startswith(package + ".")):
            continue
        candidate = getattr(module, name, None)
        if isinstance(candidate, type):
            return True
    return False


def _client_lacks(exc: BaseException) -> bool:
    """The client (module, client object, pipeline) does not have what the test asked for."""
    if isinstance(exc, ImportError):
        return _client_module_missing(exc)
    if isinstance(exc, TypeError):
        return bool(_UNEXPECTED_KEYWORD.search(str(exc)))
    if not isinstance(exc, AttributeError):
        return False
    package = _client_module().split(".")[0]
    obj = getattr(exc, "obj", None)  # Python 3.10+
    if obj is not None:
        return _belongs_to_client(obj, package)
    message = str(exc)
    m = _MODULE_ATTR.search(message)
    if m:
        return m.group(1) == package or m.group(1).startswith(package + ".")
    m = _OBJECT_ATTR.search(message)
    return bool(m) and m.group(1) != "NoneType" and _client_class_named(m.group(1), package)


def _client_module_missing(exc: ImportError) -> bool:
    """The import failed because the client package has no such module (or name in it).

    ``No module named 'redis.asyncio'``: a submodule of the client package is missing, the client
    is older than the API. ``cannot import name 'x' from 'redis'``: the client package lacks a
    name. A missing top-level client package, or a module outside it (a dependency the client
    imports), is a broken environment and not the client's version: False.
    """
    package = _client_module().split(".")[0]
    message = str(exc)
    if isinstance(exc, ModuleNotFoundError) or _NO_MODULE.search(message):
        m = _NO_MODULE.search(message)
        missing = exc.name or (m.group(1) if m else "")
        return missing.startswith(package + ".")
    m = _CANNOT_IMPORT.search(message)
    source = m.group(1) if m else (exc.name or "")
    return source == package or source.startswith(package + ".")


def _server_rejects(exc: BaseException) -> bool:
    """The server refused the command as one it does not know, or left a reply field out."""
    if isinstance(exc, KeyError):
        return True
    if _NOT_IN_COMMAND_TABLE.search(str(exc)):
        return True
    is_response_error = any(cls.__name__ == "ResponseError" for cls in type(exc).__mro__)
    return is_response_error and bool(_REJECTED.search(str(exc)))


def classify_failure(
    exc: BaseException, since: str | None, server_version: str | None
) -> tuple[str, str]:
    """(outcome, reason) for an exception raised by a test body."""
    exc = _unwrap(exc)
    reason = _short(exc)
    if _client_lacks(exc):
        return outcomes.UNSUPPORTED_CLIENT, reason
    if _server_rejects(exc):
        if not since:
            return outcomes.FAIL, f"{reason} (the test names no 'since' version)"
        if not server_version:
            return outcomes.FAIL, f"{reason} (server version unknown; needs {since})"
        older = _older(server_version, since)
        if older is None:
            return (
                outcomes.FAIL,
                f"{reason} (versions {server_version!r}, {since!r} not comparable)",
            )
        if older:
            return outcomes.UNSUPPORTED_SERVER, f"{reason} (server {server_version} < {since})"
        return outcomes.FAIL, f"{reason} (server {server_version} >= {since})"
    return outcomes.FAIL, reason
