"""The live preview of `seqc watch --serve` and warm renders for `seqc render`.

- `events`: the event bus the watcher publishes to, and the page's current state.
- `artifacts`: the allow-list of files the page may fetch (video, contact sheet, curves), by version.
- `server`: the HTTP server (stdlib ThreadingHTTPServer): the page, `/state`, the SSE stream, artifacts.
- `ranges`: a `Range` header read as RFC 9110 says (one range; 416 for a malformed one).
- `publish`: a watch view that also publishes every event, and the background contact sheet and curves.
- `handoff`: the Unix socket in the cache folder through which `seqc render` hands its job to a
  running watch process that has the model loaded.
- `session`: starts and stops all of it around `Watcher.run`.
"""
