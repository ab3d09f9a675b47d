"""One module per subcommand of `quorum` (see quorum/cli.py)."""
