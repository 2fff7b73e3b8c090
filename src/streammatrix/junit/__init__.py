"""The cell-file format, one owner: :mod:`.format` (constants, classifying a test case),
:mod:`.records` (a cell as read), :mod:`.write` and :mod:`.read`."""
