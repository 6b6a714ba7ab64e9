#!/usr/bin/env bash
# Idempotent setup: Debian packages for QGIS 3.22, a venv that sees them, the Python test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers python3-gdal gdal-bin xvfb xauth python3-venv python3-requests python3-socks pyqt5-dev-tools make zip fonts-noto-color-emoji)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import qgis.core" 2>/dev/null; then
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
stamp=$VENV/.requirements-dev.sha
want=$(sha1sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# The repository root is the plugin package: expose it under its installed name, mapbridge.
mkdir -p .build/plugins
ln -sfn "$(pwd)" .build/plugins/mapbridge

# Validate the Qt resource file (the plugin loads icons by path, so Qt5 and Qt6 both work).
if command -v pyrcc5 >/dev/null; then pyrcc5 -o .build/resources_rc.py resources.qrc; fi
echo "setup: ready ($VENV, .build/plugins/mapbridge)"
