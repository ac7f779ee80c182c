"""The live preview page of `seqc watch --serve`.

- `bus`: the event bus the watcher publishes to, and the page's state (`PreviewState`, the one
  reducer: each event goes to the page as the state it changed).
- `artifacts`: the allow-list of files the page may fetch (video, contact sheet, curves), by version.
- `server`: the HTTP server (stdlib ThreadingHTTPServer): the page, `/state`, the SSE stream, artifacts.
- `ranges`: a `Range` header read as RFC 9110 says (one range; 416 for a malformed one).
- `publish`: a watch view that also publishes every event, and the background contact sheet and curves.
- `proxy`: the H.264 proxy the page plays of an output no browser plays (ProRes, DNxHR, FFV1, .mkv).
- `page.html`: the page; its script only draws the state it is sent.

seqc.watch.serving starts it around `Watcher.run`, beside the warm renders (seqc.handoff).
"""
