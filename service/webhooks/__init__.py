"""Webhooks: Standard Webhooks signatures and one HTTP delivery attempt."""
