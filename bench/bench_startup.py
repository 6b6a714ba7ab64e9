"""What enabling Mapbridge adds to QGIS start: the real desktop under Xvfb, with and without the plugin.

QGIS times every plugin it loads (its runtime profiler, "Load plugins/<name>", the same figure its own
start-up profiler shows). Each repeat starts the desktop twice, with Mapbridge enabled and without (a bare
QGIS start, the baseline of the same run), and reads the profiler from a --code script. The figures are the
plugin's own load time in ms (target ≤ 20 ms with the dock closed) and the same as a share of the bare start.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5

PROBE = """
import json
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

profiler = QgsApplication.profiler()
top = profiler.childGroups("", "startup")
report = {
    "total_ms": 1000 * sum(profiler.profileTime(name, "startup") for name in top),
    "plugin_ms": 1000 * profiler.profileTime("Load plugins/mapbridge", "startup"),
    "loaded": "mapbridge" in plugins,
    "dock_built": getattr(plugins.get("mapbridge"), "dock", None) is not None,
}
with open(OUT, "w") as fh:
    json.dump(report, fh)
QTimer.singleShot(0, QgsApplication.exit)
"""


def start_once(enabled, workdir):
    """One desktop start; returns the probe's report."""
    profiles = Path(tempfile.mkdtemp(dir=workdir))
    ini = profiles / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[PythonPlugins]\nmapbridge={'true' if enabled else 'false'}\n\n[qgis]\ncheckVersion=false\n"
                   "showTips=false\nallowVersionCheck=false\n")
    out = profiles / "report.json"
    script = profiles / "probe.py"
    script.write_text(f"OUT = {str(out)!r}\n" + PROBE)
    env = dict(os.environ, QGIS_PLUGINPATH=str(ROOT / ".build" / "plugins"))
    env.pop("QT_QPA_PLATFORM", None)
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--nologo", "--noversioncheck",
                    "--profiles-path", str(profiles), "--code", str(script)], env=env, capture_output=True,
                   timeout=180)
    return json.loads(out.read_text())


def run(quick=False):
    """Rows: the plugin's load time (ms) and its share of a bare QGIS start."""
    repeats = 2 if quick else REPEATS
    plugin, bare, dock_built = [], [], False
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(repeats):
            with_plugin = start_once(True, workdir)
            if not with_plugin["loaded"]:
                raise RuntimeError("Mapbridge did not load in the desktop")
            plugin.append(with_plugin["plugin_ms"])
            dock_built = dock_built or with_plugin["dock_built"]
            bare.append(start_once(False, workdir)["total_ms"])
    plugin_ms, bare_ms = statistics.median(plugin), statistics.median(bare)
    details = (f"median of {repeats}: plugin {plugin_ms:.0f} ms (runs: {', '.join(f'{v:.0f}' for v in plugin)}), "
               f"bare QGIS start {bare_ms:.0f} ms; dock built at start: {dock_built}")
    yield {"name": "Start-up: Mapbridge load time with the dock closed (ms)", "value": plugin_ms, "target": 20.0,
           "unit": "ms", "details": details}
    yield {"name": "Start-up: Mapbridge load / bare QGIS start", "value": plugin_ms / bare_ms, "target": None,
           "details": details}
