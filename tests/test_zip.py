"""`make zip` builds an installable plugin: the plugin's modules and LICENSE, none of the developer files."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _make_zip():
    spec = importlib.util.spec_from_file_location("make_zip", ROOT / "tools" / "make_zip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_zip_has_the_plugin_and_nothing_for_developers(tmp_path):
    path = _make_zip().build(tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert all(n.startswith("mapbridge/") for n in names)
    for required in ("mapbridge/metadata.txt", "mapbridge/__init__.py", "mapbridge/plugin.py", "mapbridge/LICENSE",
                     "mapbridge/icons/mapbridge.svg", "mapbridge/processing/provider.py", "mapbridge/ui/dock.py"):
        assert required in names
    tops = {n.split("/")[1] for n in names}
    assert not tops & {"tests", "sandbox", "bench", "tools", ".ci", ".venv", ".build", "Makefile"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_zip_installs_and_loads_in_qgis(tmp_path, qgis_iface):
    import sys

    path = _make_zip().build(tmp_path)
    plugins = tmp_path / "plugins"
    zipfile.ZipFile(path).extractall(plugins)
    saved = {k: v for k, v in sys.modules.items() if k == "mapbridge" or k.startswith("mapbridge.")}
    for key in saved:
        del sys.modules[key]
    sys.path.insert(0, str(plugins))
    try:
        import mapbridge

        assert Path(mapbridge.__file__).resolve().parent == (plugins / "mapbridge").resolve()
        plugin = mapbridge.classFactory(qgis_iface)
        plugin.initProcessing()
        plugin.initGui()
        assert plugin.dock.objectName() == "MapbridgeDock"
        assert len(plugin.provider.algorithms()) >= 9
        plugin.unload()
    finally:
        sys.path.remove(str(plugins))
        for key in [k for k in sys.modules if k == "mapbridge" or k.startswith("mapbridge.")]:
            del sys.modules[key]
        sys.modules.update(saved)
