"""The plugins.qgis.org upload gates on the packaged plugin: Bandit and detect-secrets must find nothing.

The plugin repository scans every uploaded zip with both and blocks a version on their findings, so this
builds the zip exactly as `make zip` does and scans what is inside it. A finding that is not a problem is
justified in place (`# nosec BXXX - why` for Bandit, `# pragma: allowlist secret` for detect-secrets).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_zip  # noqa: E402


def bandit(folder, tools):
    """Bandit's findings, one line each."""
    proc = subprocess.run([str(tools / "bandit"), "-r", "-q", "-f", "json", "mapbridge"], cwd=folder,
                          capture_output=True, text=True)
    report = json.loads(proc.stdout or "{}")
    return [f"bandit: {r['filename']}:{r['line_number']}: {r['test_id']} ({r['issue_severity']}) {r['issue_text']}"
            for r in report.get("results", [])]


def detect_secrets(folder, tools):
    """detect-secrets' findings, one line each."""
    proc = subprocess.run([str(tools / "detect-secrets"), "scan", "--all-files", "."], cwd=folder / "mapbridge",
                          capture_output=True, text=True, check=True)
    results = json.loads(proc.stdout)["results"]
    return [f"detect-secrets: mapbridge/{name}:{r['line_number']}: {r['type']}"
            for name, found in sorted(results.items()) for r in found]


def main(root=make_zip.ROOT):
    tools = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        archive = make_zip.build(tmp, root)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        findings = bandit(Path(tmp), tools) + detect_secrets(Path(tmp), tools)
        for line in findings:
            sys.stdout.write(line + "\n")
        sys.stdout.write(f"plugin gates: {archive.name}: {len(findings)} findings (Bandit, detect-secrets)\n")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
