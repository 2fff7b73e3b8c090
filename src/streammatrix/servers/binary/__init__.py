"""Servers from local binaries: :mod:`.provider`; binaries come from :mod:`.sources` (cached by
:mod:`.cache`, fetched by :mod:`.fetch`, their shared libraries found by :mod:`.libs`)."""
