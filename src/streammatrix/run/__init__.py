"""Cells -> results: client environments (:mod:`.envs`), one server per row (:mod:`.pool`),
one cell (:mod:`.cell`), all of them in parallel (:mod:`.matrix`), told to observers
(:mod:`.events`; the console's is :mod:`.progress`)."""
