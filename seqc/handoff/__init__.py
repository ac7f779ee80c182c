"""Warm renders: `seqc render` hands its job to a running `seqc watch` on the same cache, whose
process has the model loaded, over a Unix socket in the cache folder.

- `client`: the socket's place, the protocol (JSON lines: the request, progress events, the
  outcome) and the client's end, `try_render`.
- `listener`: the watch process's end, which renders each job with the watch's session.

seqc.watch.serving starts the listener around `Watcher.run`.
"""
