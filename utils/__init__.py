"""The bottom layer: helpers every package may use (paths, atomic file writes, command-line
types, progress lines). It imports nothing of the suite, so nothing above can form a cycle
through it."""
