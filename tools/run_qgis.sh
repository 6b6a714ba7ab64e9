#!/usr/bin/env bash
# `make qgis`: start the sandbox, then the QGIS desktop with Mapbridge enabled and pointed at it (own profile).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROFILES="$ROOT/.build/qgis-profiles"
mkdir -p "$PROFILES/profiles/default/QGIS"
INI="$PROFILES/profiles/default/QGIS/QGIS3.ini"
grep -q "^mapbridge=true" "$INI" 2>/dev/null || printf '[PythonPlugins]\nmapbridge=true\n' >> "$INI"
PORT="${PORT:-8765}"
"$ROOT/.venv/bin/python" -m sandbox --port "$PORT" > "$ROOT/.build/sandbox.log" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true' EXIT
sleep 1
eval "$(grep '^export ' "$ROOT/.build/sandbox.log")"
export QGIS_PLUGINPATH="$ROOT/.build/plugins"
echo "Sandbox on port $PORT; QGIS profile in $PROFILES"
if [ -n "${DISPLAY:-}" ]; then qgis --profiles-path "$PROFILES" "$@"; else xvfb-run -a qgis --profiles-path "$PROFILES" "$@"; fi
