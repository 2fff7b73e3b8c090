"""What a cell's pytest imports: the plugin, the outcome vocabulary and a tiny RESP client.

Nothing here imports the rest of the runner or a third-party package beyond pytest: these
modules are copied into each cell's ``PYTHONPATH`` and run in the client's minimal virtualenv.
"""
