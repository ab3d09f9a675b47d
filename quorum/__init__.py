"""The `quorum` command: wires specs, the checker and the store together. Nothing imports it."""
