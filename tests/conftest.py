"""Test harness: import the checkout as `mapbridge`, run the sandbox, isolate settings and the auth DB."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DIR = ROOT / ".build" / "plugins"
PLUGINS_DIR.mkdir(parents=True, exist_ok=True)
if not (PLUGINS_DIR / "mapbridge").exists():
    (PLUGINS_DIR / "mapbridge").symlink_to(ROOT, target_is_directory=True)
# The checkout itself must not be on sys.path: its processing/ folder would hide QGIS's `processing` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
if str(PLUGINS_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGINS_DIR))

from qgis.core import QgsApplication, QgsProject, QgsSettings  # noqa: E402

from mapbridge.api.config import SERVICES, token_env_var, url_env_var  # noqa: E402
from mapbridge.sandbox import SandboxServer  # noqa: E402
from mapbridge.tests.deprecations import our_deprecations  # noqa: E402

MASTER_PASSWORD = "mapbridge-tests"


@pytest.fixture(scope="session", autouse=True)
def _gdal_errors_as_in_qgis(qgis_app):
    """GDAL's error mode as a QGIS session has it: from 3.28 QGIS's Processing turns exceptions on for everyone."""
    from osgeo import gdal, ogr
    from qgis.core import Qgis

    if Qgis.versionInt() >= 32800:
        gdal.UseExceptions()
        ogr.UseExceptions()


class CountingCredentials:
    """Stands in for QGIS's master-password dialog: counts the prompts and answers with the right password."""

    def __init__(self, password):
        from qgis.core import QgsCredentials

        class Credentials(QgsCredentials):
            asked = 0

            def request(self, realm, username, password, message=""):
                return False, username, password

            def requestMasterPassword(self, password="", stored=False):  # noqa: N802 - QGIS API name
                Credentials.asked += 1
                return True, CountingCredentials.password

        CountingCredentials.password = password
        self.instance = Credentials()
        self.instance.setInstance(self.instance)

    @property
    def asked(self):
        return type(self.instance).asked


@pytest.fixture(scope="session", autouse=True)
def _auth_db_unlocked(qgis_app):
    """The isolated test profile's auth DB, unlocked with a fixed master password."""
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER_PASSWORD, True)
    return manager


@pytest.fixture(autouse=True)
def _no_service_env(monkeypatch):
    """Tests start with no MAPBRIDGE_* overrides and no stored Mapbridge settings or proxy."""
    for service in SERVICES:
        monkeypatch.delenv(url_env_var(service), raising=False)
        monkeypatch.delenv(token_env_var(service), raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    settings = QgsSettings()
    settings.remove("mapbridge")
    settings.remove("proxy")
    yield
    settings.remove("mapbridge")
    settings.remove("proxy")


@pytest.fixture(autouse=True)
def _helper_layers_removed():
    """The GeoPackage layers the test helpers put in the project leave it (and are deleted) after the test."""
    yield
    from mapbridge.tests.processing.sync_helpers import OWNED

    project = QgsProject.instance()
    for layer_id in OWNED:
        if project.mapLayer(layer_id) is not None:
            project.removeMapLayer(layer_id)
    OWNED.clear()


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox for the whole session (fast processings for tests)."""
    with SandboxServer(port=0, records=3000, seed=7, processing_seconds=1.5) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The session sandbox, reset to its seeded state for each test."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.clear_faults()
    sandbox_server.clock_offset = 0.0


@pytest.fixture
def sandbox_env(sandbox, monkeypatch):
    """Point every service at the sandbox through the MAPBRIDGE_* environment variables."""
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    return sandbox


QGIS_PYTHON_PLUGINS = "/usr/share/qgis/python/plugins"


def init_qgis_processing():
    """QGIS's own `processing` package, initialised (never the checkout's processing/ folder)."""
    loaded = sys.modules.get("processing")
    if loaded is not None and not (getattr(loaded, "__file__", "") or "").startswith(QGIS_PYTHON_PLUGINS):
        for name in [n for n in sys.modules if n == "processing" or n.startswith("processing.")]:
            del sys.modules[name]
    if QGIS_PYTHON_PLUGINS not in sys.path:
        sys.path.insert(0, QGIS_PYTHON_PLUGINS)
    from processing.core.Processing import Processing

    Processing.initialize()


@pytest.fixture
def mapbridge_processing(qgis_app):
    """Processing initialised with the real Mapbridge provider registered; yields the registry."""
    from mapbridge.processing.provider import MapbridgeProvider

    init_qgis_processing()
    registry = QgsApplication.processingRegistry()
    added = None
    if registry.providerById("mapbridge") is None:
        added = MapbridgeProvider()
        registry.addProvider(added)
    yield registry
    if added is not None:
        registry.removeProvider(added)


@pytest.fixture
def plugin(qgis_iface):
    """The whole plugin loaded with pytest-qgis's iface (provider, dock, action); unloaded after the test."""
    import mapbridge

    instance = mapbridge.classFactory(qgis_iface)
    instance.initProcessing()
    instance.initGui()
    yield instance
    instance.unload()


@pytest.fixture
def fresh_runs():
    """No Mapflow run notes or leases carried over from another test (in QGIS they live as long as the session)."""
    from mapbridge.core.mapflow.tracked import RUNS

    RUNS.clear()
    yield
    RUNS.clear()


QGIS_PROCESS = "/usr/bin/qgis_process.bin"


class QgisProcess:
    """Runs the real qgis_process.bin with Mapbridge enabled in a throw-away profile, pointed at the sandbox."""

    def __init__(self, env):
        self.env = env

    def __call__(self, *args, timeout=300):
        """Run qgis_process with these arguments; return the CompletedProcess (text)."""
        import subprocess

        proc = subprocess.run([QGIS_PROCESS, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert our_deprecations(proc.stderr) == [], "Mapbridge calls deprecated QGIS/Qt API"
        return proc

    def run_json(self, algorithm, **params):
        """`qgis_process --json run ALG -- KEY=VALUE…`; return (returncode, parsed JSON or None, stderr)."""
        import json

        proc = self("--json", "run", algorithm, "--", *(f"{k}={v}" for k, v in params.items()))
        start = proc.stdout.find("{")
        return proc.returncode, (json.loads(proc.stdout[start:]) if start >= 0 else None), proc.stderr


@pytest.fixture
def qgis_process(tmp_path, sandbox):
    """A qgis_process runner whose environment points every service at the sandbox."""
    import subprocess

    if not Path(QGIS_PROCESS).exists():
        pytest.skip("qgis_process.bin not installed (make setup installs QGIS)")
    env = dict(os.environ)
    env.update(sandbox.env())
    env.update({"QGIS_PLUGINPATH": str(PLUGINS_DIR), "QT_QPA_PLATFORM": "offscreen",
                "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "qgis-profile")})
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "mapbridge"], env=env, check=True, capture_output=True,
                   timeout=120)
    return QgisProcess(env)


@pytest.fixture
def tmp_gpkg(tmp_path):
    """A path for an output GeoPackage."""
    return str(tmp_path / "out.gpkg")


def pytest_report_header(config):
    return f"mapbridge imported from {PLUGINS_DIR / 'mapbridge'}; QGIS {os.environ.get('QGIS_PREFIX_PATH', '')}"
