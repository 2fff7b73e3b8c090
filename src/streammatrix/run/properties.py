"""What the runner records about a cell: its testsuite properties.

The cell's coordinates, its client and its server go into the cell's JUnit file beside what the
plugin measured inside the cell (whether that proves the cell's claims: ``junit.proof``).
"""

from __future__ import annotations

from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.run.envs import ClientEnv
from streammatrix.servers.base import RunningServer


def base_properties(cell: Cell, env: ClientEnv | None, provider: str) -> dict[str, str]:
    props = {
        o.SUITE_CELL: cell.id,
        o.SUITE_CELL_SERVER: cell.server.name,
        o.SUITE_CELL_CLIENT: cell.client.name,
        o.SUITE_CELL_PYTHON: cell.python,
        o.SUITE_CELL_PROVIDER: provider,
    }
    if cell.protocol:
        props[o.SUITE_CELL_PROTOCOL] = cell.protocol
    if cell.parser:
        props[o.SUITE_CELL_PARSER] = cell.parser
    if cell.topology:
        props[o.SUITE_CELL_TOPOLOGY] = cell.topology
    if cell.client.row:
        props[o.SUITE_CLIENT_ROW] = cell.client.row
        props[o.SUITE_CLIENT_RELEASES] = ",".join(cell.client.releases)
    if cell.server.row:
        props[o.SUITE_SERVER_ROW] = cell.server.row
        props[o.SUITE_SERVER_RELEASE] = cell.server.release
        props[o.SUITE_SERVER_RELEASES] = ",".join(cell.server.releases)
    if env is not None:
        props[o.SUITE_CLIENT_NAME] = cell.client.package
        props[o.SUITE_CLIENT_VERSION] = env.client_version
        if env.parser_version:
            props[o.SUITE_CLIENT_PARSER_VERSION] = env.parser_version
    return props


def server_properties(server: RunningServer) -> dict[str, str]:
    props = {
        o.SUITE_SERVER_NAME: server.identity.name,
        o.SUITE_SERVER_VERSION: server.identity.version,
        o.SUITE_SERVER_REDIS_VERSION: server.identity.redis_version,
    }
    nodes = getattr(server, "nodes", None)
    if nodes:  # a cluster: how many primaries the runner started
        props[o.SUITE_CELL_NODES] = str(len(nodes))
    return props
