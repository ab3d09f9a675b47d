"""One module per subcommand of `quorum` (see quorum/cli/__init__.py)."""
