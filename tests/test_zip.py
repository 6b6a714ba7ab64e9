"""`make zip` builds an installable plugin: the plugin's modules and LICENSE, none of the developer files."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def import_mapbridge_from(monkeypatch):
    """import_mapbridge_from(plugins) makes `import mapbridge` load the copy in that plugins folder for this test; the
    checkout's `mapbridge` modules are set aside meanwhile and put back afterwards (with sys.path) by monkeypatch."""
    def mapbridge_modules():
        return [k for k in sys.modules if k == "mapbridge" or k.startswith("mapbridge.")]

    def use(plugins):
        for key in mapbridge_modules():
            monkeypatch.delitem(sys.modules, key)
        monkeypatch.syspath_prepend(str(plugins))

    yield use
    for key in mapbridge_modules():
        del sys.modules[key]


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


def test_zip_packs_only_tracked_files_minus_export_ignore(tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "metadata.txt").write_text("[general]\nversion=9.9\nrepository=https://example.org/mb\n")
    (repo / "plugin.py").write_text("X = 1\n")
    (repo / "tests" / "test_x.py").write_text("")
    (repo / "README.md").write_text("![shot](shots/a.png) [code](plugin.py) [site](https://x.org) [top](#top)\n")
    (repo / ".gitattributes").write_text("tests/** export-ignore\n.gitattributes export-ignore\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    (repo / ".env").write_text("MAPBRIDGE_MAPIRY_TOKEN=stray\n")          # untracked: must never ship
    (repo / "new_module.py").write_text("")                                # not added yet: not shipped either
    names = zipfile.ZipFile(_make_zip().build(tmp_path / "out", root=repo)).namelist()
    assert sorted(names) == ["mapbridge/README.md", "mapbridge/metadata.txt", "mapbridge/plugin.py"]
    readme = zipfile.ZipFile(tmp_path / "out" / "mapbridge-9.9.zip").read("mapbridge/README.md").decode()
    assert readme == ("![shot](https://example.org/mb/raw/main/shots/a.png) [code](plugin.py) "
                      "[site](https://x.org) [top](#top)\n")


def test_readme_in_the_zip_links_only_to_shipped_files_or_the_web(tmp_path):
    import re

    archive = zipfile.ZipFile(_make_zip().build(tmp_path))
    names = set(archive.namelist())
    readme = archive.read("mapbridge/README.md").decode()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets, "the README has links"
    for target in targets:
        assert target.startswith(("https://", "#")) or f"mapbridge/{target}" in names, target


def test_metadata_changelog_matches_changelog_md():
    assert _make_zip().changelog_mismatches() == []


def test_plugin_repository_gates_find_nothing_and_catch_planted_problems(tmp_path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("plugin_gates", ROOT / "tools" / "plugin_gates.py")
    gates = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gates)
    assert gates.main() == 0
    planted = tmp_path / "mapbridge"
    planted.mkdir()
    (planted / "bad.py").write_text(
        "import subprocess\n"
        "def run(cmd):\n"
        "    return subprocess.call(cmd, shell=True)\n"
        "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n")
    tools = Path(sys.executable).parent
    assert any("B602" in line for line in gates.bandit(tmp_path, tools))
    assert any("AWS" in line for line in gates.detect_secrets(tmp_path, tools))


def test_zip_installs_and_loads_in_qgis(tmp_path, qgis_iface, import_mapbridge_from):
    path = _make_zip().build(tmp_path)
    plugins = tmp_path / "plugins"
    zipfile.ZipFile(path).extractall(plugins)
    import_mapbridge_from(plugins)
    import mapbridge

    assert Path(mapbridge.__file__).resolve().parent == (plugins / "mapbridge").resolve()
    plugin = mapbridge.classFactory(qgis_iface)
    plugin.initProcessing()
    plugin.initGui()
    assert plugin.ensure_dock().objectName() == "MapbridgeDock"
    assert len(plugin.provider.algorithms()) >= 9
    plugin.unload()
