"""How a cell's server is deployed: one server as the provider starts it, or a cluster.

:func:`start` is the one place that knows the difference. A cluster is :data:`NODES` servers of
the row, from its own binary or image, that the provider starts as cluster nodes (cluster mode
on, each listening on the address it announces), joined here over RESP the way ``redis-cli
--cluster create`` does it: ``CLUSTER MEET`` from the first node to the others, ``CLUSTER
ADDSLOTS`` giving each primary an equal share of the 16384 slots. It is ready only when every
node says ``cluster_state:ok`` (``CLUSTER INFO``), as a single server is ready when it answers
PING. It stops as one: every node, side by side, whatever ended the start or the run.

A server that refuses cluster mode (an unknown ``cluster-enabled`` directive, an unknown
``CLUSTER`` command or subcommand, cluster support disabled) cannot run as a cluster: that is
:class:`ClusterUnsupported`, the server's own words, and its cluster cells are
``unsupported-server``, not errors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streammatrix import processes
from streammatrix.errors import ServerStartError
from streammatrix.plugin import outcomes, resp
from streammatrix.servers.base import Provider, RunningServer, ServerIdentity

if TYPE_CHECKING:
    from streammatrix.config.model import ServerSpec

NODES = 3  # primaries of a cell's cluster
SLOTS = 16384
READY_TIMEOUT = 30.0  # seconds from the slots being assigned to cluster_state:ok on every node
# What a server says when it cannot be a cluster node, at start (its log) or to CLUSTER commands
_REFUSED = re.compile(
    r"bad directive[^\n]*cluster|cluster-enabled|unknown command|unknown subcommand"
    r"|cluster support disabled",
    re.IGNORECASE,
)


class ClusterUnsupported(ServerStartError):
    """The server cannot run as a cluster: its cluster cells are ``unsupported-server``."""


@dataclass(eq=False)
class Refused:
    """A server that cannot be deployed as its cells claim, in place of a running one: each
    feature test of such a cell is ``unsupported-server`` with ``unsupported``, the server's
    own words, and runs no command (there is nothing to run it against)."""

    spec: ServerSpec
    kind: str  # the provider that tried
    unsupported: str
    host: str = ""
    port: int = 0
    identity: ServerIdentity = field(default_factory=lambda: ServerIdentity("", "", ""))
    url: str = ""

    def alive(self) -> bool:
        return True  # nothing runs, nothing dies

    def logs(self, tail: int = 50) -> str:
        return self.unsupported

    def stop(self) -> None:
        pass


@dataclass(eq=False)
class ClusterServer:
    """A running cluster: its nodes, and the first one's address and identity for the cell."""

    spec: ServerSpec
    nodes: list[RunningServer] = field(default_factory=list)
    topology = outcomes.TOPOLOGY_CLUSTER
    _stopped: bool = field(default=False, repr=False)

    @property
    def kind(self) -> str:  # the provider that really started its nodes
        return self.nodes[0].kind if self.nodes else ""

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def identity(self) -> ServerIdentity:
        return self.nodes[0].identity

    @property
    def url(self) -> str:
        """One node's: a cluster client discovers the others from it."""
        return self.nodes[0].url

    def alive(self) -> bool:
        return bool(self.nodes) and all(node.alive() for node in self.nodes)

    def logs(self, tail: int = 50) -> str:
        return "\n".join(
            f"--- node {node.host}:{node.port} ---\n{node.logs(tail)}" for node in self.nodes
        )

    def stop(self) -> None:
        """Stop every node, side by side; idempotent."""
        processes.side_by_side(lambda node: node.stop(), list(self.nodes))
        processes.untrack(self)
        self._stopped = True


def start(
    provider: Provider,
    spec: ServerSpec,
    topology: str | None,
    labels: Mapping[str, str] | None = None,
) -> RunningServer:
    """The server a cell of ``topology`` runs against: a cluster, or the provider's server."""
    if topology == outcomes.TOPOLOGY_CLUSTER:
        return start_cluster(provider, spec, labels)
    return provider.start(spec, labels)


def start_cluster(
    provider: Provider,
    spec: ServerSpec,
    labels: Mapping[str, str] | None = None,
    *,
    nodes: int = NODES,
    timeout: float = READY_TIMEOUT,
) -> ClusterServer:
    """Start ``nodes`` primaries of ``spec``, assign the slots, wait for cluster_state:ok."""
    cluster = ClusterServer(spec)
    processes.track(cluster)  # a signal from here on stops whatever nodes there are
    try:
        _start_nodes(provider, spec, labels, nodes, cluster)
        _join(cluster)
        _wait_ok(cluster, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_nodes(
    provider: Provider,
    spec: ServerSpec,
    labels: Mapping[str, str] | None,
    count: int,
    cluster: ClusterServer,
) -> None:
    """Start the nodes side by side; each one that started joins ``cluster`` (to be stopped)."""
    errors: list[BaseException] = []

    def one(_: int) -> None:
        try:
            node = provider.start(spec, labels, cluster=True)
        except BaseException as exc:
            errors.append(exc)
            return
        cluster.nodes.append(node)
        if processes.interrupted() or cluster._stopped:
            node.stop()

    with ThreadPoolExecutor(count, thread_name_prefix="cluster-node") as pool:
        list(pool.map(one, range(count)))
    if errors:
        first = errors[0]
        if isinstance(first, ServerStartError) and _REFUSED.search(str(first)):
            raise ClusterUnsupported(
                f"server {spec.name!r} cannot run as a cluster: {first}"
            ) from None
        raise first
    _check_interrupted(spec)


def _call(node: RunningServer, *args: str) -> str:
    try:
        return resp.call(node.host, node.port, *args, timeout=5.0)
    except ConnectionError as exc:  # an error reply: the server's own words
        if _REFUSED.search(str(exc)):
            raise ClusterUnsupported(
                f"server {node.spec.name!r} cannot run as a cluster: {' '.join(args[:2])} "
                f"answered: {exc}"
            ) from None
        raise ServerStartError(
            f"server {node.spec.name!r}: {' '.join(args[:2])} on {node.host}:{node.port}: {exc}"
        ) from None
    except OSError as exc:
        raise ServerStartError(
            f"server {node.spec.name!r}: node {node.host}:{node.port} stopped answering: {exc}\n"
            f"{node.logs(20)}"
        ) from None


def _join(cluster: ClusterServer) -> None:
    """Meet every node from the first, and give each an equal share of the slots."""
    first, count = cluster.nodes[0], len(cluster.nodes)
    for node in cluster.nodes[1:]:
        _call(first, "CLUSTER", "MEET", node.host, str(node.port))
    for i, node in enumerate(cluster.nodes):
        low, high = i * SLOTS // count, (i + 1) * SLOTS // count
        _call(node, "CLUSTER", "ADDSLOTS", *map(str, range(low, high)))


def _state(node: RunningServer) -> str:
    fields = dict(
        line.split(":", 1) for line in _call(node, "CLUSTER", "INFO").splitlines() if ":" in line
    )
    return fields.get("cluster_state", "?").strip()


def _wait_ok(cluster: ClusterServer, timeout: float) -> None:
    """Until every node says cluster_state:ok; ServerStartError naming each state otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        states = [_state(node) for node in cluster.nodes]
        _check_interrupted(
            cluster.spec
        )  # a cluster ready after the run was stopped is not handed on
        if all(state == "ok" for state in states):
            return
        dead = [n for n in cluster.nodes if not n.alive()]
        if dead:
            raise ServerStartError(
                f"server {cluster.spec.name!r}: a cluster node exited before the cluster was "
                f"ready\n{dead[0].logs(20)}"
            )
        if time.monotonic() > deadline:
            said = ", ".join(f"{n.host}:{n.port} {s}" for n, s in zip(cluster.nodes, states))
            raise ServerStartError(
                f"server {cluster.spec.name!r}: the cluster was not ready within {timeout:g}s "
                f"(cluster_state: {said})"
            )
        time.sleep(0.02)


def _check_interrupted(spec: ServerSpec) -> None:
    if processes.interrupted():
        raise ServerStartError(f"server {spec.name!r}: interrupted while its cluster was starting")
