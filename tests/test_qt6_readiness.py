"""QGIS 4 (Qt6): every module imports against PyQt6, and no Qt5-only API is left (tests/qt6_check.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tests" / "qt6_check.py"
# PyQt6 comes from requirements-dev.txt (make setup). It is never imported here: QGIS >= 3.34 refuses PyQt6
# in a Qt5 process, so the check runs in a process of its own and fails loudly when PyQt6 is missing.


def run_check(plugins_dir):
    """The checker in its own process: PyQt5 (loaded by QGIS here) and PyQt6 cannot share one."""
    return subprocess.run([sys.executable, "-P", str(CHECK), str(plugins_dir)], capture_output=True, text=True,
                          timeout=300, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})


def test_every_module_is_qt6_clean():
    proc = run_check(ROOT / ".build" / "plugins")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = int(proc.stdout.rsplit("qt6-check: ", 1)[1].split()[0])
    assert count > 100, "the check saw the plugin, its tests and its benchmarks"


def test_the_check_catches_qt5_only_code(tmp_path):
    plugin = tmp_path / "plugins" / "mapbridge"
    (plugin / "ui").mkdir(parents=True)
    (plugin / "__init__.py").write_text("")
    (plugin / "ui" / "__init__.py").write_text("")
    (plugin / "ui" / "old_style.py").write_text(
        "from qgis.PyQt.QtCore import Qt, QVariant\n"
        "from qgis.PyQt.QtWidgets import QMessageBox, QDesktopWidget\n"
        "ALIGN = Qt.AlignLeft\n"
        "def ask(box):\n"
        "    box.exec_()\n"
        "    return QMessageBox.Yes, QVariant.String, Qt.AlignmentFlag.AlignLeft\n")
    proc = run_check(plugin.parent)
    assert proc.returncode == 1
    found = proc.stdout
    assert "old_style.py: import fails against PyQt6" in found          # QDesktopWidget is gone
    assert "QtWidgets.QDesktopWidget does not exist in Qt6" in found
    assert "Qt.AlignLeft does not exist" in found
    assert "QMessageBox.Yes does not exist" in found
    assert "QVariant.String does not exist" in found
    assert "exec_() is gone" in found
    assert "AlignmentFlag" not in found                                    # the scoped spelling is fine
