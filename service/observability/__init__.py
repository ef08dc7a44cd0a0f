"""Metrics and tracing: what operators watch. Sits below the use cases so every layer can report."""
