"""The report's vocabulary: the outcomes a grid entry shows, their symbols, words and
descriptions, their severity, and the kinds of unexpected (red) results.
"""

from __future__ import annotations

from streammatrix.plugin import outcomes as o

# What a grid entry shows: the test outcomes plus the ones only the report assigns.
NO_RESULT = "none"  # the cell ran, but no test of this feature did
GRID_OUTCOMES = (
    o.PASS,
    o.FAIL,
    o.UNSUPPORTED_SERVER,
    o.UNSUPPORTED_CLIENT,
    o.ERROR,
    o.EXCLUDED,
    o.EXPECTED_FAILURE,
    o.SKIPPED,
    o.FLAKY,
    NO_RESULT,
)
# Symbol and word, so the grid reads without colour.
LABELS = {
    o.PASS: ("✔", "pass"),
    o.FAIL: ("✘", "fail"),
    o.UNSUPPORTED_SERVER: ("⊘", "server"),
    o.UNSUPPORTED_CLIENT: ("⊘", "client"),
    o.ERROR: ("!", "error"),
    o.EXCLUDED: ("\u2013", "excluded"),  # en dash
    o.EXPECTED_FAILURE: ("✔?", "expected"),
    o.SKIPPED: ("·", "skipped"),
    o.FLAKY: ("≈", "flaky"),
    NO_RESULT: ("·", "no result"),
}
DESCRIPTIONS = {
    o.PASS: "every test of the feature passed",
    o.FAIL: "a test failed (an assertion did not hold)",
    o.UNSUPPORTED_SERVER: "the server version lacks the command or option",
    o.UNSUPPORTED_CLIENT: "the client version lacks the method or argument",
    o.ERROR: "a test could not run, or the whole cell could not run",
    o.EXCLUDED: "matrix.yaml excludes this cell",
    o.EXPECTED_FAILURE: "not passing, as an expectation in matrix.yaml says",
    o.SKIPPED: "skipped for a reason of its own, or the cell was skipped",
    o.FLAKY: "failed, then passed when run again in the same cell (never red by itself)",
    NO_RESULT: "the cell ran, but no test of this feature",
}
NOT_PASSING = (o.FAIL, o.ERROR, o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT)
PASSING = (o.PASS, o.FLAKY)  # a flaky test passed in the end

# What makes a result unexpected (red), named by its cause. The one place these words live.
KIND_BREAK = "break above minimum"  # fails in a cell at or above the feature's minimum
KIND_NEVER_PASSES = "never passes"  # fails, and passes in no cell: there is no minimum
KIND_CELL_ERROR = "cell error"  # the cell could not run
KIND_CONFLICTING = "conflicting files"  # two cell files disagree about one cell
KIND_EXPECTATION = "expectation no longer holds"  # matrix.yaml predicts something else
KIND_NEWLY_FAILING = "newly failing"  # passed in the baseline, fails now
KIND_MINIMUM_RAISED = "minimum raised"  # a minimum supported version moved up since the baseline
KIND_NO_CELLS = "no cells"
KIND_DECLARED = "declared range admits a failing release"  # a promise the releases break
# Not unexpected: a fail below the feature's measured minimum is the fact that defines it.
KIND_BELOW_MINIMUM = "below minimum"

# One character per outcome, for report.json's compact tables (each cell's test outcomes and each
# feature's grid are one string); " " = no entry.
OUTCOME_CODES = {
    o.PASS: "P",
    o.FAIL: "F",
    o.UNSUPPORTED_SERVER: "S",
    o.UNSUPPORTED_CLIENT: "C",
    o.ERROR: "E",
    o.SKIPPED: "K",
    o.EXCLUDED: "X",
    o.EXPECTED_FAILURE: "x",
    o.FLAKY: "Y",
    NO_RESULT: "N",
}

# What bounds a feature's minimum: the minimum is the lowest version that ran at all, or there
# is none because every measured cell lacks it on one side (or fails it).
BOUND_LOWEST_TESTED = "lowest tested"  # nothing older ran: the true minimum may be lower
BOUND_CLIENT_LACKS = "client lacks it"
BOUND_SERVER_LACKS = "server lacks it"
BOUND_BOTH_LACK = "server or client lacks it"
BOUND_FAILS = "fails everywhere"
BOUND_FAILS_WHERE_RUNS = "fails where it runs"  # elsewhere unsupported
BOUND_NOT_MEASURED = "not measured"
