"""Pure domain: bands, levels, age intervals, dates, ids and the clock. No I/O."""
