"""One module per command, each with a `run(...)` that takes typed arguments and returns an exit code."""
