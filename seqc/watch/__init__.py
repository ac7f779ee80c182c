"""`seqc watch`: the watcher loop, the file events it reacts to, and what it shows."""
