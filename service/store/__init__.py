"""Persistence behind one Store protocol: memory (embedded default) and Redis."""
