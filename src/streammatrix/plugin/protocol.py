"""The wire protocol of a cell: what it claims, what the claim asks of the client, and what a
refusal of the protocol means.

The claim is ``TEST_REDIS_PROTOCOL`` ("2", "3" or "3-unified"). It reaches every client the
suite builds, however it builds them: ``options`` are the client options that ask for it, and
``connections.install`` makes them the client library's defaults in the cell. The proof is
measured per connection by the server (``connections``) and checked by the runner
(``streammatrix.junit.proof``); a client that rejects the option (``protocol=``,
``legacy_responses=``) makes the tests it broke ``unsupported-client``, a server that rejects
``HELLO 3`` makes them ``unsupported-server`` (``refused``).

Only the standard library is imported here (see ``pytest_plugin``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from streammatrix.plugin import outcomes

CLAIMS = {"2": 2, "3": 3, "3-unified": 3}
_OPTION_REJECTED = re.compile(r"unexpected keyword argument '(protocol|legacy_responses)'")
_HELLO_REJECTED = re.compile(r"unknown command .?hello|noproto|unsupported protocol", re.I)


def claim() -> str:
    """The protocol this run claims ("" when none: the client's default)."""
    return os.environ.get(outcomes.ENV_PROTOCOL, "").strip()


def options(claimed: str, takes_protocol: bool = True) -> dict[str, Any]:
    """The client options that ask for ``claimed`` (``{}``: nothing to ask). RESP2 is not
    asked of a client without the option: RESP2 is all such a client speaks."""
    if claimed not in CLAIMS or (claimed == "2" and not takes_protocol):
        return {}
    version, _, variant = claimed.partition("-")
    found: dict[str, Any] = {"protocol": int(version)}
    if variant == "unified":
        found["legacy_responses"] = False
    return found


def refused(exc: BaseException, reason: str) -> tuple[str, str] | None:
    """(outcome, reason) when ``exc`` is the client or server refusing the claimed protocol,
    itself or as the cause of what the client raised instead (``RedisCluster`` says "cannot be
    connected" ``from`` the refusal of each node)."""
    claimed = claim()
    if not claimed:
        return None
    for found in _chain(exc):
        if isinstance(found, TypeError) and _OPTION_REJECTED.search(str(found)):
            return outcomes.UNSUPPORTED_CLIENT, f"{reason} (the client cannot speak RESP{claimed})"
        is_response_error = any(cls.__name__ == "ResponseError" for cls in type(found).__mro__)
        if is_response_error and _HELLO_REJECTED.search(str(found)):
            return outcomes.UNSUPPORTED_SERVER, f"{reason} (the server cannot speak RESP{claimed})"
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it (``raise ... from``, or raised while handling), in order."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
