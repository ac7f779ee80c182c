#!/usr/bin/env bash
# What the test suite needs beyond `pip install -e ".[dev,ray,remote]"`: Debian's chromium, which the
# preview page's browser test drives through playwright (no browser is downloaded). Runs apt-get as
# root, or through sudo; does nothing when chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get here; install Chromium yourself (the browser test skips without it)" >&2
  exit 0
fi
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium
