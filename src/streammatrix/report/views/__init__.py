"""How a report is shown: Markdown, HTML, JSON, badge. Views read the analysis, never the
reverse, so a new view never touches it.
"""
