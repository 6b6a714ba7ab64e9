"""`make demo`: start the sandbox, run Mapbridge's jobs headless through Processing, say where the output is."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".build" / "plugins"))
OUTPUT = ROOT / "demo-output"


def start_qgis():
    """A headless QGIS with Processing and the Mapbridge provider."""
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    from mapbridge.processing.provider import MapbridgeProvider

    provider = MapbridgeProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider


def run(algorithm, params):
    """Run one algorithm, printing its log lines; return its results."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    class PrintFeedback(QgsProcessingFeedback):
        def pushInfo(self, info):  # noqa: N802
            print("   ", info)

        def reportError(self, error, fatalError=False):  # noqa: N802, N803
            print("    ERROR:", error)

    return processing.run(algorithm, params, context=QgsProcessingContext(), feedback=PrintFeedback())


def step_check_connections(sandbox):
    """Every service answers with the sandbox's URL and token."""
    result = run("mapbridge:check_connections", {})
    if result["CONNECTED"] != 4:
        raise SystemExit("demo: not every sandbox service answered")
    return []


STEPS = [
    ("Check the connection to each service", step_check_connections),
]


def main():
    from mapbridge.sandbox import SandboxServer

    OUTPUT.mkdir(exist_ok=True)
    started = time.monotonic()
    with SandboxServer(port=0, records=5000, processing_seconds=3.0) as sandbox:
        os.environ.update(sandbox.env())
        print(f"Sandbox running at http://127.0.0.1:{sandbox.port}/ (four services)")
        app, _provider = start_qgis()
        outputs = []
        for number, (title, step) in enumerate(STEPS, 1):
            print(f"[{number}/{len(STEPS)}] {title}")
            outputs.extend(step(sandbox) or [])
        print(f"Demo finished in {time.monotonic() - started:.1f} s.")
        if outputs:
            print("Output:")
            for path in outputs:
                print("  ", path)
        print(f"Output folder: {OUTPUT}")
        app.exitQgis()


if __name__ == "__main__":
    main()
