"""The topology of a cell: what it claims, and what a cluster refuses.

The claim is ``TEST_REDIS_TOPOLOGY`` ("standalone" or "cluster"), the same variable the suite
reads to build its clients. The proof is the server's, per connection: every connection the
suite opens is asked ``INFO cluster`` (``cluster_enabled:1`` is a cluster node, ``0`` a
standalone server; the fact ``mode`` of ``connections``), and the runner checks it against the
claim (``streammatrix.junit.proof``): a cell that claims a cluster and reached a standalone
server is an error, and the other way round.

On a cluster, a multi-key command whose keys hash to different slots is refused: by the server
(``CROSSSLOT``) or, before it is sent, by the cluster client (redis-py: "all keys must map to
the same key slot"). That is the documented behaviour of a cluster, not a bug of the client or
the server: the test's outcome is ``unsupported-server``, with the reason (:func:`refused`).

Only the standard library is imported here (see ``pytest_plugin``).
"""

from __future__ import annotations

import os
import re

from streammatrix.plugin import outcomes

CLAIMS = (outcomes.TOPOLOGY_STANDALONE, outcomes.TOPOLOGY_CLUSTER)
_CROSSSLOT = re.compile(r"CROSSSLOT|must map to the same (?:key )?slot", re.IGNORECASE)


def claim() -> str:
    """The topology this run claims ("" when none: a standalone server, unchecked)."""
    return os.environ.get(outcomes.ENV_TOPOLOGY, "").strip().lower()


def refused(exc: BaseException, reason: str) -> tuple[str, str] | None:
    """(outcome, reason) when ``exc`` is a cluster refusing keys of different slots."""
    if claim() != outcomes.TOPOLOGY_CLUSTER or not _CROSSSLOT.search(str(exc)):
        return None
    return (
        outcomes.UNSUPPORTED_SERVER,
        f"{reason} (a cluster runs a multi-key command only on keys of one hash slot)",
    )
