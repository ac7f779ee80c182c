"""What seqc does for a user, as functions the CLI, the watcher and the warm-render listener call:
one typed request in, one typed outcome out, nothing printed (issue 25 item 2)."""
