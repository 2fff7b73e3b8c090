"""The reply parser of a cell: which parser a connection's parser class is.

A cell claims its parser with ``TEST_REDIS_PARSER`` ("python" or "hiredis"), set by the runner
for a client row that names parsers; the suite does nothing with it (redis-py picks hiredis by
itself when it is installed: the cell's environment makes the parser). The proof is a fact of
every connection the suite opened (``plugin/connections.py``: ``parser``, the class of the
connection's parser after its handshake), checked against the claim in ``junit/proof.py``.
Measured class names: ``HiredisParser`` / ``PythonParser`` in redis-py 4.x (sync and asyncio),
``_HiredisParser`` / ``_RESP2Parser`` / ``_RESP3Parser`` and their ``_Async...`` twins from 5.0
(valkey-py the same). A class whose name says hiredis is the hiredis parser, any other the
client's own pure-Python one.

Only the standard library is imported here (see ``pytest_plugin``).
"""

from __future__ import annotations

PARSERS = ("python", "hiredis")


def family(class_name: str) -> str:
    """The parser a parser class is: "hiredis" or "python" ("" for no class at all, or "?")."""
    if not class_name or class_name == "?":
        return ""
    return "hiredis" if "hiredis" in class_name.lower() else "python"
