"""The benchmark of the runner itself (``streammatrix bench``); see :mod:`.command`."""
