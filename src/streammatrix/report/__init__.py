"""Cell records -> the compatibility report: built in :mod:`.build`, written as JUnit, JSON,
Markdown and HTML."""
