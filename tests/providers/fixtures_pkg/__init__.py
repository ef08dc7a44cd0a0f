"""Real modules that the registry tests' entry points point at: one per way a provider can go wrong.

Nothing here is installed in the ``ageband.providers`` group; the tests build ``EntryPoint``
objects by hand and load them the way start-up does.
"""
