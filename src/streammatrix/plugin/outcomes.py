"""The vocabulary shared by the pytest plugin, the merger and the report.

Nothing here imports a third-party package: the plugin that writes these names runs in cell
virtualenvs that only hold the client under test, pytest and pytest-asyncio.
"""

from __future__ import annotations

# Classified outcome of one test in one cell.
PASS = "pass"
FAIL = "fail"
UNSUPPORTED_SERVER = "unsupported-server"
UNSUPPORTED_CLIENT = "unsupported-client"
ERROR = "error"  # the test could not run (fixture error) or the whole cell crashed
SKIPPED = "skipped"  # skipped for a reason of its own (not a version)
# Outcomes that only the runner/report assign, never the plugin:
EXCLUDED = "excluded"  # the cell is excluded in matrix.yaml
EXPECTED_FAILURE = "expected-failure"  # a fail/unsupported result that matrix.yaml expects
# A fail/error that passed when the runner ran it again in the same cell (never the plugin's
# own classification: the runner writes it into the cell file after its reruns).
FLAKY = "flaky"

TEST_OUTCOMES = (PASS, FAIL, UNSUPPORTED_SERVER, UNSUPPORTED_CLIENT, ERROR, SKIPPED, FLAKY)

# <testsuite> properties, written once per cell by the plugin.
SUITE_CELL = "cell"  # cell id, e.g. "redis-7.0--redis-5.0--py3.11"
SUITE_CELL_SERVER = "cell.server"  # server name from matrix.yaml
SUITE_CELL_CLIENT = "cell.client"  # client name from matrix.yaml
SUITE_CELL_PYTHON = "cell.python"  # python version from matrix.yaml
SUITE_SERVER_NAME = "server.name"  # "redis" or "valkey", from INFO server
SUITE_SERVER_VERSION = "server.version"  # valkey_version on Valkey, redis_version otherwise
SUITE_SERVER_REDIS_VERSION = "server.redis_version"  # redis_version, always
SUITE_CLIENT_NAME = "client.name"  # distribution name, e.g. "redis" or "valkey"
SUITE_CLIENT_VERSION = "client.version"
SUITE_PYTHON_VERSION = "python.version"
# The wire protocol: what the cell claims (TEST_REDIS_PROTOCOL: "2", "3", "3-unified"; absent:
# the client's default) and what the suite's own connections were measured to speak (every
# connection, per kind and fact, in ``connections.<kind>.<fact>``: see plugin/connections.py).
SUITE_CELL_PROTOCOL = "cell.protocol"
SUITE_CELL_RESP = "cell.resp"  # "2", "3", "2 3" when they differ; "" when none was measured
SUITE_CELL_RESP_SOURCE = "cell.resp.source"  # how: "CLIENT INFO", "HELLO", "reply type"
SUITE_CELL_RESP_CHECKED = "cell.resp.checked"  # how many connections were measured
# The reply parser a cell claims (TEST_REDIS_PARSER: "python", "hiredis"; absent: the row names
# none); the parser class each connection used is a connection fact (plugin/connections.py).
SUITE_CELL_PARSER = "cell.parser"
SUITE_CLIENT_PARSER_VERSION = "client.parser.version"  # by the runner: "hiredis 3.1.0", ""
# The topology: what the cell claims (TEST_REDIS_TOPOLOGY: "standalone", "cluster"; absent: a
# standalone server, no claim) and what the suite's connections were measured to reach.
SUITE_CELL_TOPOLOGY = "cell.topology"
SUITE_CELL_MODE = "cell.mode"  # "cluster", "standalone", "cluster standalone" when they differ
SUITE_CELL_NODES = "cell.nodes"  # a cluster cell: how many primaries its cluster had
# Written by the runner, not the plugin: a cell that could not run still gets a file of its own
# (one <testsuite> with these properties), so the report is rebuilt from files alone.
SUITE_CELL_STATUS = "cell.status"  # one of CELL_STATUSES
SUITE_CELL_REASON = "cell.reason"  # why a cell is error/excluded/skipped
SUITE_CELL_LOG = "cell.log"  # path of the cell's log, relative to the report dir
SUITE_CELL_SECONDS = "cell.seconds"  # wall time of the cell's pytest run
SUITE_CELL_RERUN_SECONDS = "cell.reruns.seconds"  # the reruns' tests' own (JUnit) time
SUITE_CELL_PROVIDER = "cell.provider"  # "docker" or "binary"
SUITE_CLIENT_ROW = "client.row"  # an expanded release: the matrix.yaml row it came from
SUITE_CLIENT_RELEASES = "client.releases"  # ... and every release of that row, comma-separated
SUITE_SERVER_ROW = "server.row"  # a server row listing releases: the row this entry came from
SUITE_SERVER_RELEASE = "server.release"  # ... the release the entry is (its version claim)
SUITE_SERVER_RELEASES = "server.releases"  # ... and every release of that row, comma-separated
SUITE_CELL_BISECT = "cell.bisect"  # a bisection cell: the features it ran, comma-separated
SUITE_CELL_BISECT_STEP = "cell.bisect.step"  # ... and the round of the bisection it ran in
SUITE_CELL_BISECT_AXIS = "cell.bisect.axis"  # ... and the axis it stepped: one of BISECT_AXES
BISECT_AXES = ("client", "server")
SUITE_CELL_START = "cell.start"  # how the cell's pytest was started: one of START_METHODS

START_FORK = "fork"  # forked from a warm interpreter of the client's environment
START_SPAWN = "spawn"  # a fresh `python -m pytest`
START_METHODS = (START_FORK, START_SPAWN)

CELL_OK = "ok"  # pytest ran to the end (its tests may still fail)
CELL_ERROR = "error"  # server died, pytest could not start, timeout
CELL_EXCLUDED = "excluded"  # excluded in matrix.yaml
CELL_SKIPPED = "skipped"  # e.g. the python version is not on this machine
CELL_STATUSES = (CELL_OK, CELL_ERROR, CELL_EXCLUDED, CELL_SKIPPED)

# <testcase> properties, written per test by the plugin (and the latency ones by the suite).
CASE_FEATURE = "feature"
CASE_SINCE = "since"
CASE_OUTCOME = "outcome"
CASE_REASON = "reason"
CASE_LATENCY_MS = "latency_ms"
CASE_LATENCY_TARGET_MS = "latency_target_ms"
CASE_NODEID = "nodeid"  # the test's pytest node id, with an absolute path: what a rerun runs
CASE_TRIES = "tries"  # written by the runner: how many runs a flaky test took to pass

# Environment the runner hands to a cell's pytest (the suite itself reads only the first three).
ENV_ENABLED = "TEST_REDIS_ENABLED"
ENV_URL = "REDIS_URL"
ENV_PREFIX = "TEST_STREAM_PREFIX"
ENV_CLIENT_MODULE = "TEST_REDIS_CLIENT"  # import name of the client module: "redis" or "valkey"
# JSON: {"id", "server", "client", "python"[, "protocol", "parser", "topology"]}
ENV_CELL = "STREAMMATRIX_CELL"
ENV_PROTOCOL = "TEST_REDIS_PROTOCOL"  # "2", "3" or "3-unified"; read by the suite and the plugin
ENV_PARSER = "TEST_REDIS_PARSER"  # "python" or "hiredis": the claim (the environment makes it)
# A file the plugin keeps the running test's node id in (empty between tests): a cell that
# times out names the test that hung.
ENV_CURRENT_TEST = "STREAMMATRIX_CURRENT_TEST"
ENV_TOPOLOGY = "TEST_REDIS_TOPOLOGY"  # "standalone" or "cluster"; read by the suite and the plugin
# Set by the runner when the cell's server cannot be deployed as the cell claims (it cannot run as
# a cluster): the measured reason; every feature test is unsupported-server with it, unrun.
ENV_UNSUPPORTED_SERVER = "STREAMMATRIX_UNSUPPORTED_SERVER"
TOPOLOGY_CLUSTER = "cluster"
TOPOLOGY_STANDALONE = "standalone"
