"""Run a Redis Streams test suite across server and client versions, and report compatibility.

This package must stay importable without its dependencies: the pytest plugin is loaded from it
inside every cell's minimal virtualenv, which holds only the client, pytest and pytest-asyncio.
"""

__version__ = "0.1.0"
