"""Logs and the data-minimisation audit trail, behind a PII guard."""
