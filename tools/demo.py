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


def _demo_places():
    """Twelve named places in Amsterdam in EPSG:3857, one without a name, plus a park polygon."""
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    layer = QgsVectorLayer("Point?crs=EPSG:3857&field=name:string&field=code:string&field=rating:double"
                           "&field=opened:date", "demo places", "memory")
    features = []
    for i in range(13):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(544000 + 180 * i, 6867000 + 120 * (i % 5))))
        feature.setAttributes([None if i == 12 else f"Demo place {i + 1}", f"DEMO-{i + 1}", 3.5 + (i % 3) / 2,
                               f"2024-0{1 + i % 9}-15"])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def step_push(sandbox):
    """Push demo places to a new Mapiry map, then twice to a Mapsemble map (upsert: no duplicates)."""
    layer = _demo_places()
    mapiry_report = str(OUTPUT / "push_report_mapiry.gpkg")
    result = run("mapbridge:mapiry_push", {"INPUT": layer, "NEW_MAP_TITLE": "Mapbridge demo", "NAME_FIELD": "name",
                                           "OUTPUT": mapiry_report})
    print(f"    Mapiry map {result['MAP_ID']}: {result['CREATED']} created, {result['SKIPPED']} skipped")
    mapsemble_report = str(OUTPUT / "push_report_mapsemble.gpkg")
    for _ in range(2):
        result = run("mapbridge:mapsemble_push", {"INPUT": layer, "MAP_ID": "ms_demo", "LABEL_FIELD": "name",
                                                  "REMOTE_ID_FIELD": "code", "OUTPUT": mapsemble_report})
    print(f"    Mapsemble second push: {result['CREATED']} created, {result['UPDATED']} updated (no duplicates)")
    return [mapiry_report, mapsemble_report]


def step_mapalyze_records(sandbox):
    """Every Mapalyze record as a typed GeoPackage layer (5,000 records, 10 pages)."""
    path = OUTPUT / "mapalyze_records.gpkg"
    if path.exists():
        path.unlink()
    result = run("mapbridge:mapalyze_records", {"OUTPUT": str(path)})
    print(f"    {result['RECORDS']} records, newest {result['NEWEST']}")
    return [str(path)]


def step_mapflow(sandbox):
    """Buildings detected by Mapflow on a small AOI in Moscow (EPSG:3857), written with all attributes."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    aoi = QgsVectorLayer("Polygon?crs=EPSG:3857", "demo AOI", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt(
        "POLYGON((4187350 7508000, 4188450 7508000, 4188450 7508900, 4187350 7508900, 4187350 7508000))"))
    aoi.dataProvider().addFeatures([feature])
    path = OUTPUT / "mapflow_result.gpkg"
    if path.exists():
        path.unlink()
    result = run("mapbridge:mapflow_process", {"AOI": aoi, "NAME": "Mapbridge demo buildings", "OUTPUT": str(path)})
    print(f"    processing {result['PROCESSING_ID']}: {result['AREA_KM2']:.2f} km², "
          f"{result['FEATURE_COUNT']} buildings")
    return [str(path)]


STEPS = [
    ("Check the connection to each service", step_check_connections),
    ("Load Mapalyze records into a GeoPackage", step_mapalyze_records),
    ("Push places to Mapiry and Mapsemble", step_push),
    ("Run a Mapflow processing on a small AOI", step_mapflow),
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
