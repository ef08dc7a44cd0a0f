"""Use cases. The only layer that combines policy, providers, store, tokens and audit."""
