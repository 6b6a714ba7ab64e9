"""`make zip`: the installable plugin zip (mapbridge/…) without tests, sandbox, tools or caches."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Top-level entries that are for developers only.
EXCLUDED = {
    "tests", "sandbox", "bench", "tools", "screenshots", ".ci", ".build", ".venv", ".qgis-settings", "dist",
    "demo-output", "bench-results", "requirements-dev.txt", "pytest.ini", "ruff.toml", "Makefile", ".gitignore",
    ".gitattributes",
}


def plugin_files(root=ROOT):
    """Tracked and new (not ignored) files that belong in the installed plugin."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root,
                             check=True, capture_output=True).stdout.decode().split("\0")
    for name in sorted(set(filter(None, listing))):
        path = root / name
        if name.split("/")[0] in EXCLUDED or not path.is_file() or "__pycache__" in name:
            continue
        yield name, path


def build(out_dir):
    """Write dist/mapbridge-<version>.zip and return its path."""
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt", encoding="utf-8")
    target = Path(out_dir) / f"mapbridge-{meta['general']['version']}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in plugin_files():
            archive.write(path, f"mapbridge/{name}")
    return target


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist"))
