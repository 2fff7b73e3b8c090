"""What is true about a run: minimums, ranges, boundaries, history, the baseline diff.

Nothing here formats a page or knows a view; the views (:mod:`streammatrix.report.views`) read
this, never the reverse.
"""
