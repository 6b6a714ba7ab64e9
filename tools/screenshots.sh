#!/usr/bin/env bash
# `make screenshots`: the real dock in the real desktop (Xvfb), one PNG per tab, into screenshots/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mktemp -d)"
bash "$ROOT/tools/run_desktop.sh" "$ROOT/tools/screenshot_scene.py" "$OUT"
mkdir -p "$ROOT/screenshots"
for png in "$OUT"/dock-*.png; do
  [ -f "$png" ] && cp "$png" "$ROOT/screenshots/$(basename "$png")"
done
ls -1 "$ROOT/screenshots"
