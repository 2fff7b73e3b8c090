"""The group of a test's feature, from its class or module name, for any name Python allows."""

from __future__ import annotations

import pytest

from streammatrix.junit.records import TestRecord
from streammatrix.report.analysis.grid import group_of


@pytest.mark.parametrize(
    ("classname", "group"),
    [
        ("test_consumer_groups.TestSyncConsumerGroups", "sync consumer groups"),
        ("test_streams.TestXAutoClaim", "X auto claim"),
        ("test_consumer_groups", "consumer groups"),
        ("test_änderungen.TestÄnderungenÜberall", "änderungen überall"),
        ("test_x.TestÄrger", "ärger"),
        ("test_x.TestÖrger", "örger"),  # not the same group as the one above
        ("test_streams.Test流式", "流式"),
        ("test_x.Test", "other"),
    ],
)
def test_the_group_of_a_test_keeps_every_letter(classname, group):
    test = TestRecord(classname=classname, name="test_a", feature="test_a", outcome="pass")
    assert group_of(test) == group
