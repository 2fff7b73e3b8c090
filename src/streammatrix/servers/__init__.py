"""Server providers: a running Redis-protocol server behind one small interface (:mod:`.base`),
chosen by :mod:`.select`: :mod:`.docker` or :mod:`.binary`; :mod:`.images` builds images from
binaries."""
