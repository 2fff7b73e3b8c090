"""Where a run's difference from its CPU floor goes: the parts add up to it, each from what
the run's workers did (made-up timelines whose answer is known)."""

from __future__ import annotations

import pytest

from streammatrix.bench.floor import Slot, against_floor, machine_busy_seconds, summary


def test_the_parts_of_the_difference_from_a_known_timeline():
    # two cores; one worker holds a cell from 0 to 10 (1 s of it waiting for its environment),
    # the other from 0 to 5, then nothing is left for it: a core idle for 5 s of a 10 s span
    slots = [Slot(0.0, 1.0, 0.0, 0.0, 10.0), Slot(0.0, 0.0, 0.4, 0.6, 5.0)]
    found = against_floor(
        wall=20.0, cpu=20.0, cores=2, start=2.0, report=1.0, slots=slots, machine=24.0
    )
    assert (found["floor_seconds"], found["ratio"], found["gap_seconds"]) == (10.0, 2.0, 10.0)
    assert found["gap"] == {
        "start": 1.0,  # one of the two cores worked
        "environments": 0.5,
        "servers": 0.2,
        "fork_warm_up": 0.3,
        "idle_cores": 2.5,
        "report": 0.5,
        "other_processes": 2.0,
        "in_cells_off_cpu": 3.0,
    }
    assert sum(found["gap"].values()) == pytest.approx(found["gap_seconds"])


def test_more_cells_than_cores_hold_no_more_than_the_cores():
    slots = [Slot(0.0, 0.0, 0.0, 0.0, 4.0) for _ in range(4)]
    found = against_floor(wall=4.0, cpu=8.0, cores=2, start=0.0, report=0.0, slots=slots)
    assert found["gap"]["idle_cores"] == 0.0 and "other_processes" not in found["gap"]


def test_a_summary_gives_medians_and_ranges_over_runs():
    runs = [
        (label, against_floor(wall=wall, cpu=10.0, cores=2, start=1.0, report=0.5, slots=[]))
        for label, wall in (("a", 6.0), ("b", 10.0), ("c", 7.0))
    ]
    found = summary(runs, "fixed")
    assert found["runs"] == ["a", "b", "c"] and found["matrix"] == "fixed"
    assert found["wall_seconds"] == {"median": 7.0, "min": 6.0, "max": 10.0}
    assert found["ratio"] == {"median": 1.4, "min": 1.2, "max": 2.0}
    assert summary([], "default") is None


def test_the_machine_counts_cpu_time():
    before = machine_busy_seconds()
    sum(i * i for i in range(3_000_000))  # some CPU time of this process
    after = machine_busy_seconds()
    assert before is not None and after is not None and after > before
