"""`make bench`: run every bench/bench_*.py, print each figure as a ratio to its same-run baseline."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".build" / "plugins"))
RESULTS = ROOT / "bench-results"


def load_modules(only):
    """The bench modules, optionally filtered by a substring of their name."""
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        if only and only not in path.stem:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield path.stem, module


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run the bench modules whose name contains this")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    rows = []
    for name, module in load_modules(args.only):
        started = time.monotonic()
        print(f"== {name}", flush=True)
        for row in module.run(quick=args.quick):
            row.setdefault("module", name)
            ok = row["value"] <= row["target"] if row.get("target") is not None else None
            row["ok"] = ok
            rows.append(row)
            verdict = "" if ok is None else ("OK" if ok else "MISSED")
            print(f"   {row['name']:<60} {row['value']:8.3f} {row.get('unit', 'x'):<3} "
                  f"target ≤ {row.get('target')}  {verdict}  {row.get('details', '')}", flush=True)
        print(f"   ({time.monotonic() - started:.0f} s)")
    (RESULTS / "results.json").write_text(json.dumps(rows, indent=2))
    missed = [r["name"] for r in rows if r["ok"] is False]
    print(f"{len(rows)} figures, {len(missed)} missed" + (f": {', '.join(missed)}" if missed else ""))
    print(f"Results: {RESULTS / 'results.json'}")
    app.exitQgis()


if __name__ == "__main__":
    main()
