"""Age-assurance providers behind one Protocol, found through the ``ageband.providers`` entry points."""
