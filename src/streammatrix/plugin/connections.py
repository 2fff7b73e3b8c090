"""Every connection a cell's tests open, as the server saw it: the one proof of a cell's claims.

The suite builds its clients however it likes (``from_url``, ``Redis(host=..., port=...)``, a
pool of its own, sync or asyncio, at import time or in a thread); all of them connect through
the client library's connection classes, and that is where this module sits.

Interface
---------
``install(module, claim_options)`` (the plugin calls it before the suite's conftest is imported,
when ``TEST_REDIS_ENABLED`` is true) does two things to the client library ``module`` (the cell's
``TEST_REDIS_CLIENT``: ``redis``, ``valkey``), in ``<module>.connection`` and
``<module>.asyncio.connection`` alike:

* **the claim**: ``claim_options`` (``protocol.options``: ``{"protocol": 3}``,
  ``{"protocol": 3, "legacy_responses": False}``) become the library's defaults: the default of
  every client constructor that has such a parameter, and the missing (or ``None``) keyword
  arguments of every connection pool and connection the library makes. What the suite passes
  itself (``protocol=2``, ``?protocol=2`` in a URL) still wins, and is then measured. A library
  that has no such option is given it all the same when a connection is made, and says so
  itself (``unexpected keyword argument 'protocol'``): that is how a client that cannot take a
  claim is ``unsupported-client``, measured.
* **the proof**: after the library's own handshake (``AbstractConnection``'s
  ``on_connect_check_health`` where it has one, else ``on_connect``), every new connection is
  asked, in one round trip (two commands written together, then both replies read), which
  protocol it speaks and in which mode the server runs. The facts of one connection:

  ======== =============================================================================
  kind     ``sync`` or ``async`` (which of the library's connection classes made it)
  resp     the protocol the server says the connection negotiated: ``CLIENT INFO``'s
           ``resp=`` (Redis 7.0+), else ``HELLO`` without arguments (its ``proto``, 6.2),
           else the wire type of a reply RESP3 sends as a map (``CONFIG GET port``, 6.0);
           a connection whose user may run none of them (an ACL user of the suite's own,
           ``+@stream``) is looked up by its address in ``CLIENT LIST``, asked on a
           connection of the plugin's own (``resp=``, 7.0+)
  source   which of those answered (``CLIENT INFO``, ``HELLO``, ``reply type``,
           ``CLIENT LIST``)
  parser   the class name of the connection's parser after the handshake
           (``_RESP2Parser``, ``_RESP3Parser``, ``_HiredisParser``, ``_AsyncRESP3Parser``, ...)
  mode     ``cluster`` or ``standalone``: ``cluster_enabled`` of the server's ``INFO cluster``
  ======== =============================================================================

  A fact that could not be had is ``?``. Asking changes nothing on the connection.

``properties()`` aggregates what every connection of the process said into testsuite
properties (the plugin writes them into the cell file at the end of the session):

* ``connections.<kind>``: how many connections of that kind were measured (``"12"``);
* ``connections.<kind>.<fact>``: each value and how many connections had it, sorted by value:
  ``"2=1, 3=11"``, ``"CLIENT INFO=12"`` (``parse`` reads it back: ``{"2": 1, "3": 11}``);
* ``cell.resp`` (every distinct ``resp`` of every kind, ``"3"``, ``"2 3"``), ``cell.resp.source``
  and ``cell.resp.checked`` (the number of connections), and ``cell.mode`` (every distinct
  ``mode``: ``"cluster"``): what the report shows.

The claims are checked against these facts in one place, on the runner's side
(``streammatrix.junit.proof``: one entry per axis, its claim's environment variable and the
fact that proves it).

Only the standard library is imported here (see ``pytest_plugin``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import socket
import sys
import threading
from collections import Counter
from typing import Any, Callable

from streammatrix.plugin import outcomes

SYNC, ASYNC = "sync", "async"
KINDS = (SYNC, ASYNC)
FACTS = ("resp", "parser", "mode", "source")
UNKNOWN = "?"
PREFIX = "connections"

# How a connection's protocol is asked, in the order tried (the first that answers is kept for
# the rest of the process: one server per cell).
PROBES: dict[str, tuple[str, ...]] = {
    "CLIENT INFO": ("CLIENT", "INFO"),
    "HELLO": ("HELLO",),
    "reply type": ("CONFIG", "GET", "port"),
}
MODE_COMMAND = ("INFO", "cluster")
ASIDE = "CLIENT LIST"  # a connection that may ask none of PROBES, looked up by its address
_ASIDE_TIMEOUT = 5.0
HOOKS = ("on_connect_check_health", "on_connect")  # the first the library has is hooked

_RESP_FIELD = re.compile(r"(?:^|\s)resp=(\d)")
_CLUSTER_ENABLED = re.compile(r"cluster_enabled:(\d)")
_MARK = "__streammatrix_connections__"

_lock = threading.Lock()
_seen: Counter[tuple[str, ...]] = Counter()  # (kind, resp, parser, mode, source) -> connections
_probe: list[str] = []  # the probe that answered first ([] until one did)


def property_name(kind: str, fact: str = "") -> str:
    """``connections.<kind>[.<fact>]``: the testsuite property of a kind (and fact)."""
    return f"{PREFIX}.{kind}" + (f".{fact}" if fact else "")


def parse(text: str) -> dict[str, int]:
    """``"2=1, 3=11"`` -> ``{"2": 1, "3": 11}`` (a ``connections.<kind>.<fact>`` property)."""
    found: dict[str, int] = {}
    for part in (text or "").split(","):
        value, _, count = part.strip().rpartition("=")
        try:
            found[value] = found.get(value, 0) + int(count)
        except ValueError:
            continue
    return found


def _format(counts: Counter[str]) -> str:
    return ", ".join(f"{value}={counts[value]}" for value in sorted(counts))


def measured() -> list[tuple[tuple[str, ...], int]]:
    """Every distinct (kind, resp, parser, mode, source) so far, and how many connections."""
    with _lock:
        return sorted(_seen.items())


def reset() -> None:
    """Forget what was measured (a new session in the same process)."""
    with _lock:
        _seen.clear()


def properties() -> dict[str, str]:
    """The testsuite properties of what every connection said (see the module's docstring)."""
    props: dict[str, str] = {}
    seen = measured()
    resp: set[str] = set()
    sources: set[str] = set()
    for kind in KINDS:
        rows = [(facts, n) for facts, n in seen if facts[0] == kind]
        if not rows:
            continue
        props[property_name(kind)] = str(sum(n for _, n in rows))
        for index, fact in enumerate(FACTS, start=1):
            counts: Counter[str] = Counter()
            for facts, n in rows:
                counts[facts[index]] += n
            props[property_name(kind, fact)] = _format(counts)
        resp.update(facts[1] for facts, _ in rows if facts[1] != UNKNOWN)
        sources.update(facts[4] for facts, _ in rows if facts[4] != UNKNOWN)
    props[outcomes.SUITE_CELL_RESP] = " ".join(sorted(resp))
    props[outcomes.SUITE_CELL_RESP_SOURCE] = ", ".join(sorted(sources))
    props[outcomes.SUITE_CELL_RESP_CHECKED] = str(sum(n for _, n in seen))
    modes = {facts[3] for facts, _ in seen if facts[3] != UNKNOWN}
    props[outcomes.SUITE_CELL_MODE] = " ".join(sorted(modes))  # what the report shows
    return props


# --------------------------------------------------------------------------------------------
# reading the replies


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    return reply if isinstance(reply, str) else ""


def _proto(reply: Any) -> str | None:
    if isinstance(reply, dict):
        pairs = list(reply.items())
    elif isinstance(reply, (list, tuple)):
        pairs = list(zip(reply[::2], reply[1::2]))
    else:
        return None
    for key, value in pairs:
        if _text(key) == "proto":
            return str(value) if isinstance(value, int) else _text(value) or None
    return None


def _resp(source: str, reply: Any) -> str | None:
    """The protocol a probe's reply says (None: this probe cannot tell, try the next)."""
    if source == "CLIENT INFO":
        found = _RESP_FIELD.search(_text(reply))
        return found.group(1) if found else None
    if source == "HELLO":
        return _proto(reply)
    if isinstance(reply, dict):
        return "3"
    return "2" if isinstance(reply, (list, tuple)) else None


def _mode(reply: Any) -> str:
    found = _CLUSTER_ENABLED.search(_text(reply))
    if not found:
        return UNKNOWN
    return "cluster" if found.group(1) == "1" else "standalone"


def _is_response_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "ResponseError" for cls in type(exc).__mro__)


def _probes() -> list[str]:
    return list(_probe) or list(PROBES)


def _found(source: str) -> None:
    if not _probe:
        _probe.append(source)


def _aside(conn: Any, sockname: Any) -> tuple[str | None, str, str]:
    """(resp, source, mode) of ``conn`` as ``CLIENT LIST`` says it on a plain socket of its own
    to the same server (the default user; ``None`` where that cannot be had)."""
    host, port = getattr(conn, "host", None), getattr(conn, "port", None)
    if not (host and port and isinstance(sockname, tuple) and len(sockname) >= 2):
        return None, UNKNOWN, UNKNOWN
    ip = f"[{sockname[0]}]" if ":" in str(sockname[0]) else sockname[0]
    addr = f" addr={ip}:{sockname[1]} "
    try:
        with socket.create_connection((host, int(port)), timeout=_ASIDE_TIMEOUT) as side:
            side.sendall(b"CLIENT LIST\r\nINFO cluster\r\n")
            reader = side.makefile("rb")
            listing, info = _bulk(reader), _bulk(reader)
    except (OSError, ValueError):
        return None, UNKNOWN, UNKNOWN
    for line in listing.splitlines():
        if addr in f" {line} ":
            found = _RESP_FIELD.search(line)
            if found:
                return found.group(1), ASIDE, _mode(info)
    return None, UNKNOWN, UNKNOWN


def _bulk(reader: Any) -> str:
    """One RESP2 bulk string reply ("" for an error or another type)."""
    head = reader.readline()
    if not head.startswith(b"$"):
        return ""
    size = int(head[1:])
    return reader.read(size + 2)[:size].decode(errors="replace") if size >= 0 else ""


def _sockname_sync(conn: Any) -> Any:
    try:
        return conn._sock.getsockname()
    except (AttributeError, OSError):
        return None


def _sockname_async(conn: Any) -> Any:
    writer = getattr(conn, "_writer", None)
    return writer.get_extra_info("sockname") if writer is not None else None


def _record(conn: Any, kind: str, resp: str | None, source: str, mode: str) -> None:
    parser = type(getattr(conn, "_parser", None)).__name__
    facts = (kind, resp or UNKNOWN, parser if parser != "NoneType" else UNKNOWN, mode)
    with _lock:
        _seen[(*facts, source if resp else UNKNOWN)] += 1


# --------------------------------------------------------------------------------------------
# asking one connection (after the library's own handshake, on the same connection)


def _send_sync(conn: Any, commands: list[tuple[str, ...]]) -> list[Any]:
    conn.send_packed_command(conn.pack_commands(commands), check_health=False)
    replies = []
    for _ in commands:
        try:
            replies.append(conn.read_response())
        except Exception as exc:  # an error reply: the server does not know the command
            if not _is_response_error(exc):
                raise
            replies.append(None)
    return replies


async def _send_async(conn: Any, commands: list[tuple[str, ...]]) -> list[Any]:
    await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
    replies = []
    for _ in commands:
        try:
            replies.append(await conn.read_response())
        except Exception as exc:
            if not _is_response_error(exc):
                raise
            replies.append(None)
    return replies


def measure_sync(conn: Any) -> tuple[str | None, str, str]:
    """(resp, source, mode) of a connected synchronous connection."""
    mode = UNKNOWN
    for index, source in enumerate(_probes()):
        extra = [MODE_COMMAND] if index == 0 else []
        replies = _send_sync(conn, [PROBES[source], *extra])
        if extra:
            mode = _mode(replies[1])
        resp = _resp(source, replies[0])
        if resp:
            _found(source)
            return resp, source, mode
    aside = _aside(conn, _sockname_sync(conn))
    return aside if aside[0] else (None, UNKNOWN, mode)


async def measure_async(conn: Any) -> tuple[str | None, str, str]:
    """(resp, source, mode) of a connected asyncio connection."""
    mode = UNKNOWN
    for index, source in enumerate(_probes()):
        extra = [MODE_COMMAND] if index == 0 else []
        replies = await _send_async(conn, [PROBES[source], *extra])
        if extra:
            mode = _mode(replies[1])
        resp = _resp(source, replies[0])
        if resp:
            _found(source)
            return resp, source, mode
    aside = _aside(conn, _sockname_async(conn))
    return aside if aside[0] else (None, UNKNOWN, mode)


# --------------------------------------------------------------------------------------------
# installing: the hook and the claim's defaults


def _hooked_sync(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def on_connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        _record(self, SYNC, *measure_sync(self))
        return result

    return on_connect


def _hooked_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def on_connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        _record(self, ASYNC, *(await measure_async(self)))
        return result

    return on_connect


def connection_base(module: Any) -> type | None:
    """The class every connection of a library's ``connection`` module derives from."""
    found = getattr(module, "AbstractConnection", None) or getattr(module, "Connection", None)
    return found if isinstance(found, type) else None


def _hook(base: type, kind: str) -> bool:
    for name in HOOKS:
        original = getattr(base, name, None)
        if original is None:
            continue
        if getattr(original, _MARK, False):
            return True
        make = _hooked_async if kind == ASYNC else _hooked_sync
        hooked = make(original)
        setattr(hooked, _MARK, True)
        setattr(base, name, hooked)
        return True
    return False


def takes(module_name: str, option: str) -> bool:
    """The library's connections have the constructor option ``option`` (e.g. ``protocol``)."""
    try:
        base = connection_base(importlib.import_module(f"{module_name}.connection"))
        init = inspect.unwrap(base.__init__)  # type: ignore[union-attr,misc]
        params = inspect.signature(init).parameters
    except (ImportError, TypeError, ValueError, AttributeError):
        return False
    return option in params


def _set_defaults(func: Any, options: dict[str, Any]) -> bool:
    """Make ``options`` the defaults of the parameters of ``func`` that have them."""
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    names = code.co_varnames[: code.co_argcount]
    defaults = list(func.__defaults__ or ())
    first = len(names) - len(defaults)
    changed = False
    for index, name in enumerate(names[first:]):
        if name in options:
            defaults[index], changed = options[name], True
    if changed:
        func.__defaults__ = tuple(defaults)
    keyword = dict(func.__kwdefaults__ or {})
    hits = [name for name in options if name in keyword]
    for name in hits:
        keyword[name] = options[name]
    if hits:
        func.__kwdefaults__ = keyword
    return changed or bool(hits)


def _connection_defaults(base: type, options: dict[str, Any]) -> None:
    """A connection made without an option of the claim (by a pool, or by hand) gets it; a
    library without that option rejects it there, itself (``unexpected keyword argument``)."""
    original = base.__init__
    if getattr(original, _MARK, False):
        return
    try:
        names = list(inspect.signature(inspect.unwrap(original)).parameters)[1:]
    except (TypeError, ValueError):
        names = []

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for name, value in options.items():
            given = name in names and names.index(name) < len(args)
            if not given and kwargs.get(name) is None:
                kwargs[name] = value
        original(self, *args, **kwargs)

    setattr(__init__, _MARK, True)
    base.__init__ = __init__  # type: ignore[misc]


def _pool_defaults(pool: type, options: dict[str, Any]) -> None:
    original = pool.__init__
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for name, value in options.items():
            if kwargs.get(name) is None:
                kwargs[name] = value
        original(self, *args, **kwargs)

    setattr(__init__, _MARK, True)
    pool.__init__ = __init__  # type: ignore[method-assign]


def _library_modules(module_name: str) -> list[Any]:
    return [
        m
        for name, m in list(sys.modules.items())
        if m is not None and (name == module_name or name.startswith(module_name + "."))
    ]


def _constructor_defaults(module_name: str, options: dict[str, Any]) -> None:
    done: set[int] = set()
    for module in _library_modules(module_name):
        for value in list(vars(module).values()):
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            init = value.__dict__.get("__init__")
            if init is None:
                continue
            func = inspect.unwrap(init)
            if id(func) not in done:
                done.add(id(func))
                _set_defaults(func, options)


def install(module_name: str, claim_options: dict[str, Any] | None = None) -> list[str]:
    """Hook the connection set-up of ``module_name`` (sync and asyncio) and make
    ``claim_options`` its defaults; the kinds hooked (``[]``: the library has no connection
    class this module knows, nothing is measured)."""
    options = dict(claim_options or {})
    hooked = []
    for kind, name in ((SYNC, f"{module_name}.connection"), (ASYNC, f"{module_name}.asyncio")):
        try:
            module = importlib.import_module(name)
            if kind == ASYNC:
                module = importlib.import_module(f"{name}.connection")
        except ImportError:  # redis-py before 4.2 has no asyncio
            continue
        base = connection_base(module)
        if base is None or not _hook(base, kind):
            continue
        hooked.append(kind)
        pool = getattr(module, "ConnectionPool", None)
        if options:
            _connection_defaults(base, options)
            if isinstance(pool, type):  # a client picks its reply callbacks from its pool's
                _pool_defaults(pool, options)
    if options:
        _constructor_defaults(module_name, options)
    return hooked
