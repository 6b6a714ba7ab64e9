"""`make bench`: run every bench/bench_*.py, print each figure as a ratio to its same-run baseline."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".build" / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))           # the benches' shared helpers (sandbox_process)
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


def run_module(name, module, quick):
    """Run one bench module in this process; print its rows and return them."""
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    rows = []
    started = time.monotonic()
    print(f"== {name}", flush=True)
    for row in module.run(quick=quick):
        row.setdefault("module", name)
        ok = row["value"] <= row["target"] if row.get("target") is not None else None
        row["ok"] = ok
        rows.append(row)
        verdict = "" if ok is None else ("OK" if ok else "MISSED")
        print(f"   {row['name']:<60} {row['value']:8.3f} {row.get('unit', 'x'):<3} "
              f"target ≤ {row.get('target')}  {verdict}  {row.get('details', '')}", flush=True)
    print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run the bench modules whose name contains this")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--module", help=argparse.SUPPRESS)  # internal: run one module, write its rows
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.module:
        module = dict(load_modules(args.module))[args.module]
        rows = run_module(args.module, module, args.quick)
        (RESULTS / f"{args.module}.json").write_text(json.dumps(rows, indent=2))
        sys.stdout.flush()
        os._exit(0)  # skip QGIS teardown: only the figures matter
    rows, failed = [], []
    # Each module in its own process: no Processing registry, GIL or memory state leaks from one into the next.
    for name, _module in load_modules(args.only):
        (RESULTS / f"{name}.json").unlink(missing_ok=True)
        command = [sys.executable, "-P", __file__, "--module", name] + (["--quick"] if args.quick else [])
        if subprocess.run(command).returncode != 0 or not (RESULTS / f"{name}.json").exists():
            failed.append(name)
            continue
        rows.extend(json.loads((RESULTS / f"{name}.json").read_text()))
    (RESULTS / "results.json").write_text(json.dumps(rows, indent=2))
    missed = [r["name"] for r in rows if r["ok"] is False]
    print(f"{len(rows)} figures, {len(missed)} missed" + (f": {', '.join(missed)}" if missed else ""))
    if failed:
        print(f"bench modules that failed to run: {', '.join(failed)}")
    print(f"Results: {RESULTS / 'results.json'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
