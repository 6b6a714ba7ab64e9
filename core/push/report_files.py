"""Where a push report from the dock goes: where the project finds it again, under a name that tells runs apart."""

from __future__ import annotations

import os
import re
from datetime import datetime

from ..output_folders import default_output_folder

FOLDER = "push_reports"


def new_report_path(layer_name, service, project=None, when=None):
    """push_reports/push_report_<layer>_to_<service>_<YYYYMMDD-HHMMSS>.gpkg beside the saved project (else in the
    profile's Mapbridge folder), never an existing file."""
    folder = os.path.join(default_output_folder("push", project), FOLDER)
    os.makedirs(folder, exist_ok=True)
    slug = re.sub(r"[^\w-]+", "_", layer_name, flags=re.UNICODE).strip("_")[:40] or "layer"
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(folder, f"push_report_{slug}_to_{service}_{stamp}")
    path, n = base + ".gpkg", 1
    while os.path.exists(path):
        n += 1
        path = f"{base}_{n}.gpkg"
    return path


def report_layer_name(layer_name, service_title, when=None):
    """"Push report – shops → Mapiry (14:05:09)"."""
    return f"Push report – {layer_name} → {service_title} ({(when or datetime.now()).strftime('%H:%M:%S')})"
