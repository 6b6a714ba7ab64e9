"""The sandbox in its own process for the benches (it must not share the measured process's GIL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


class SandboxProcess:
    """A sandbox started with `python -m sandbox`: its services' URLs, the env that points Mapbridge at it, control."""

    def __init__(self, records=100, *options):
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--records", str(records),
                                      *options], cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.urls, self.env = {}, {}
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                self.env[key] = value
                if key == "MAPBRIDGE_MAPSEMBLE_TOKEN":      # the last line it prints
                    break
            elif " http" in line:
                name, url = line.split(" ", 1)
                self.urls[name] = url
        self.control = self.urls["control"].rsplit("/", 1)[0]

    def url(self, service):
        """The base URL of one service."""
        return self.urls[service]

    def token(self, service):
        """The sandbox's token for one service."""
        return self.env[f"MAPBRIDGE_{service.upper()}_TOKEN"]

    def new_mapiry_map(self, title):
        """A new, empty Mapiry map; returns its id."""
        answer = requests.post(f"{self.url('mapiry')}/maps", json={"title": title}, timeout=30,
                               headers={"Authorization": f"Bearer {self.token('mapiry')}"})
        answer.raise_for_status()
        return answer.json()["data"]["id"]

    def reset(self):
        """Back to the seeded state (maps, records, faults, config)."""
        requests.post(self.control + "/reset", timeout=30).raise_for_status()

    def clear_requests(self):
        """Forget the requests logged so far."""
        requests.delete(self.control + "/requests", timeout=30).raise_for_status()

    def requests_log(self):
        """The requests logged since the last clear (method, path, body_size…)."""
        return requests.get(self.control + "/requests", timeout=60).json()

    def configure(self, **config):
        """Set the sandbox's config (latency, line, record count, rate limits…)."""
        requests.post(self.control + "/config", json=config, timeout=120).raise_for_status()

    def stop(self):
        """End the process and close its pipe."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()
