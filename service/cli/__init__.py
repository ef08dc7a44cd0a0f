"""The ``ageband`` command line."""
