"""Persistence by role (service.store.roles): memory (embedded default) and Redis."""
