"""matrix.yaml -> a validated model: :mod:`.model` (what a matrix is), :mod:`.load` (YAML and
schema -> model, every error naming file, key path and line)."""
