"""Cell records -> the compatibility report: :mod:`.build` reads the cells, has
:mod:`.analysis` work out what is true (minimums, ranges, boundaries, history, the baseline
diff) and :mod:`.views` show it (JUnit, JSON, Markdown, HTML, badge)."""
