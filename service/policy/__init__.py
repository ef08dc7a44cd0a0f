"""The policy: YAML model → validated → compiled for lookups."""
