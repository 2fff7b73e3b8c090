"""A client environment's reply parser: what a parser adds to the environment, and which parser
the client installed there really picks.

redis-py has no switch for its parser: it uses hiredis by itself whenever the hiredis package is
installed in a version it accepts, and its own pure-Python parser otherwise, silently. Measured
with real installs on CPython 3.11 (a connection's parser class, no server needed): redis-py
4.0-5.0 take any hiredis that installs (2.2.3 and later: older ones have no wheel for 3.11);
5.1-6.1 ignore hiredis before 3.0 and 6.2 and later before 3.2.

So a ``hiredis`` environment is the client's plus ``<package>[hiredis]`` (the client's own bound
on hiredis) and ``hiredis<row's specifier>``, wheels only; a ``python`` environment is the client
alone, the same environment as a row that names no parser. After the install the client in the
environment is asked which parser class a new connection gets (once per environment as made,
recorded beside its stamp): a parser that does not install, or that the client then does not
use, is a skipped cell with that reason, not an error. Each cell proves it again from its own
connections (the plugin's ``parser`` claim).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from pathlib import Path

from streammatrix.config.model import ClientSpec
from streammatrix.errors import EnvError
from streammatrix.plugin import parser as measured

# The distribution each parser installs beside the client (a parser not listed installs none).
DISTRIBUTIONS = {"hiredis": "hiredis"}

# Run in the client's environment: the parser class of a new connection of the client's own
# sync client class (no server needed: a connection's parser is made with it), and the
# installed version of each parser distribution.
_PROBE = """
import importlib, importlib.metadata as m, json, sys
out = {"versions": {}}
for name in sys.argv[2:]:
    try:
        out["versions"][name] = m.version(name)
    except m.PackageNotFoundError:
        pass
try:
    mod = importlib.import_module(sys.argv[1])
    cls = next(getattr(mod, n) for n in ("Redis", "Valkey", "StrictRedis") if hasattr(mod, n))
    out["class"] = type(cls().connection_pool.make_connection()._parser).__name__
except Exception as exc:
    out["error"] = ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300]
print(json.dumps(out))
"""


class ParserNotInstallable(EnvError):
    """A parser that does not install beside the client, or that the client does not use: its
    cells are skipped with this reason."""


def installs(parser: str | None) -> bool:
    """Whether the parser adds anything to the client's environment (else it is the client's
    own environment, shared with the cells that claim no parser)."""
    return parser in DISTRIBUTIONS


def requirements(client: ClientSpec, parser: str | None, installed: str = "") -> list[str]:
    """What ``parser`` installs beside the client: ``redis[hiredis]==X`` and ``hiredis>=3``.

    With ``installed`` (the client release already in the environment) the client is pinned to
    it: a hiredis the newest client rejects must not make the installer pick an older client.
    """
    if not installs(parser):
        return []
    assert parser is not None
    version = f"=={installed}" if installed else client.version
    parser_dist = DISTRIBUTIONS[parser] + _specifier(client, parser)
    return [f"{client.package}[{parser}]{version}", parser_dist]


def only_binary(parser: str | None) -> list[str]:
    """The parser's distribution from a wheel only: a C extension that would be compiled on the
    machine (no wheel for this Python) is a parser that does not install, not a build step."""
    return [DISTRIBUTIONS[parser]] if installs(parser) and parser else []


def _specifier(client: ClientSpec, parser: str) -> str:
    return client.hiredis if parser == "hiredis" else ""


def pinned(client: ClientSpec, parser: str | None) -> bool:
    """True when the parser's version is one exact release (or the parser installs nothing)."""
    if not installs(parser) or parser is None:
        return True
    spec = _specifier(client, parser)
    return spec.startswith("==") and "*" not in spec and "," not in spec


def probe(python: str, client: ClientSpec) -> dict:
    """What the probe says in the environment of ``python``: {"class", "versions"[, "error"]}."""
    dists = sorted(set(DISTRIBUTIONS.values()))
    done = subprocess.run(
        [python, "-c", _PROBE, client.module, *dists],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"versions": {}, "error": tail[0][:300]}


# Beside an environment's stamp: the probe's answer for the environment that stamp describes.
RECORD = ".streammatrix-parser.json"


def probed(python: str, client: ClientSpec, stamp: Path) -> dict:
    """:func:`probe`'s answer, asked once per environment as made: recorded beside its
    ``stamp`` under a key of the stamp's bytes (and of the probe), so an environment reused as
    it is costs no interpreter start, and one remade (a new stamp) is asked again. An answer
    without a parser class (the probe could not make a connection, or did not finish) is not
    recorded: it is asked again on the next use."""
    record = stamp.with_name(RECORD)
    try:
        key = _key(stamp.read_bytes(), client)
    except OSError:
        return probe(python, client)
    try:
        kept = json.loads(record.read_text())
        if kept.get("key") == key and isinstance(kept.get("found"), dict):
            return kept["found"]
    except (OSError, ValueError, AttributeError):
        pass
    found = probe(python, client)
    if "class" in found and "error" not in found:
        partial = record.with_name(f"{RECORD}.{os.getpid()}")
        try:  # written whole, then put in place: a reader never sees half of it
            partial.write_text(json.dumps({"key": key, "found": found}))
            os.replace(partial, record)
        except OSError:  # the environment went away meanwhile, or is read-only: asked again
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
    return found


def _key(stamp: bytes, client: ClientSpec) -> str:
    dists = sorted(set(DISTRIBUTIONS.values()))
    what = json.dumps([_PROBE, client.module, dists]).encode()
    return hashlib.sha256(stamp + b"\0" + what).hexdigest()


def check(found: dict, client: ClientSpec, client_version: str, parser: str) -> str:
    """The parser class a connection of the client gets, when it is ``parser``'s; else
    :class:`ParserNotInstallable` saying which parser the client picked and why it matters."""
    versions = found.get("versions", {})
    what = f"{client.package} {client_version}"
    with_parser = " ".join(f"{d} {v}" for d, v in sorted(versions.items()))
    if "error" in found:
        beside = f" with {with_parser}" if with_parser else ""
        raise ParserNotInstallable(f"{what}{beside} cannot make a connection: {found['error']}")
    cls = str(found.get("class", ""))
    got = measured.family(cls)
    if got != parser:
        if installs(parser):
            raise ParserNotInstallable(
                f"{what} does not use {with_parser or parser}: its connections get {cls} "
                f"(the {got} parser)"
            )
        raise ParserNotInstallable(
            f"the {parser} parser cannot be had with {what}: its connections get {cls} "
            f"({with_parser} is installed with it)"
        )
    return cls
