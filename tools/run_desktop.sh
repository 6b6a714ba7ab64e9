#!/usr/bin/env bash
# Start the real QGIS desktop under Xvfb with a throw-away profile where Mapbridge is enabled, run a --code script.
# Usage: tools/run_desktop.sh SCRIPT OUTDIR [extra env assignments are inherited]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCRIPT="$1"; OUT="$2"
PROFILES="$(mktemp -d)"
mkdir -p "$PROFILES/profiles/default/QGIS" "$OUT"
cat > "$PROFILES/profiles/default/QGIS/QGIS3.ini" <<INI
[PythonPlugins]
mapbridge=true

[qgis]
checkVersion=false
showTips=false
allowVersionCheck=false

[core]
NewsFeed\httpsfeedqgisorg\disabled=true
INI
mkdir -p "$ROOT/.build/plugins" && ln -sfn "$ROOT" "$ROOT/.build/plugins/mapbridge"
export QGIS_PLUGINPATH="$ROOT/.build/plugins" MAPBRIDGE_DESKTOP_OUT="$OUT"
# A real X display (Xvfb), not the offscreen platform tests use: the desktop needs a clipboard.
unset QT_QPA_PLATFORM
# A display number nobody uses, looking at sockets too: another run (a version-matrix root shares this network,
# not this /tmp) may hold one whose lock file xvfb-run -a cannot see.
display=99
while [ -e "/tmp/.X$display-lock" ] || grep -q "/tmp/.X11-unix/X$display\b" /proc/net/unix 2>/dev/null; do
  display=$((display + 1))
done
timeout "${DESKTOP_TIMEOUT:-180}" xvfb-run -n "$display" -s "-screen 0 1920x1080x24" \
  qgis --nologo --noversioncheck --profiles-path "$PROFILES" --code "$SCRIPT" >"$OUT/qgis.log" 2>&1 || true
rm -rf "$PROFILES"
test -f "$OUT/report.json"
