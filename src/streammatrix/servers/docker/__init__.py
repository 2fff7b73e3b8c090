"""Servers from the Docker engine: :mod:`.provider`, with :mod:`.engine`, :mod:`.pull` and
:mod:`.reaping`."""
