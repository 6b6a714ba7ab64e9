"""The Export box of the Mapalyze tab: GeoJSON, CSV or PDF of a form to a file, in the background."""

from __future__ import annotations

import os

from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from qgis.core import QgsProject, QgsSettings

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapalyze.export import FORMATS, export_records
from ...core.output_folders import default_output_folder
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_success

FORMAT_LABELS = (("GeoJSON", "geojson"), ("CSV", "csv"), ("PDF report", "pdf"))
FORMAT_NAMES = {fmt: label for label, fmt in FORMAT_LABELS}
FILTERS = {"geojson": "GeoJSON (*.geojson *.json)", "csv": "CSV (*.csv)", "pdf": "PDF (*.pdf)"}


class ExportBox(QGroupBox):
    """What will be exported (the tab's form and since), format, Export… (asks for a file) and Cancel."""

    def __init__(self, iface, filters, describe=None, parent=None):
        super().__init__("Export", parent)
        self.iface = iface
        self.filters = filters  # callable -> (form_id or None, since or None)
        self.describe = describe or (lambda: "")
        self.runner = BackgroundRunner(self)
        self.run = None
        self.path = None
        layout = QVBoxLayout(self)
        self.what_label = QLabel(self)
        self.what_label.setObjectName("mapalyze_export_what")
        self.what_label.setWordWrap(True)
        layout.addWidget(self.what_label)
        row = QHBoxLayout()
        self.format_combo = QComboBox(self)
        self.format_combo.setObjectName("mapalyze_export_format")
        for label, fmt in FORMAT_LABELS:
            self.format_combo.addItem(label, fmt)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("mapalyze_export")
        self.export_button.setToolTip("Mapalyze's own export of the form (and since) chosen above, to a file")
        self.export_button.clicked.connect(self.choose_and_export)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("mapalyze_export_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.format_combo, 1)
        row.addWidget(self.export_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        layout.addWidget(self.progress_bar)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    def show_filters(self, *args):
        """Say what Export will ask Mapalyze for."""
        text = self.describe()
        self.what_label.setText(f"Exports {text}." if text else "")

    def suggested_path(self, fmt):
        """Where the save dialog opens: the last export folder, else beside the project (the Load rule)."""
        form_id, _ = self.filters()
        folder = QgsSettings().value(settings_keys.MAPALYZE_EXPORT_FOLDER, "", type=str) or ""
        if not folder or not os.path.isdir(folder):
            folder = default_output_folder("mapalyze", QgsProject.instance())
            os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"mapalyze_{form_id or 'all_forms'}{FORMATS[fmt]}")

    def choose_and_export(self):
        """Ask where to save, then export."""
        fmt = self.format_combo.currentData()
        path, _ = QFileDialog.getSaveFileName(self, f"Export Mapalyze records: {self.describe()}",
                                              self.suggested_path(fmt), FILTERS[fmt])
        if path:
            if not os.path.splitext(path)[1]:
                path += FORMATS[fmt]
            QgsSettings().setValue(settings_keys.MAPALYZE_EXPORT_FOLDER, os.path.dirname(path))
            self.export(fmt, path)

    def export(self, fmt, path):
        """Export in the background to `path`."""
        if self.runner.busy:
            return None
        form_id, since = self.filters()
        try:
            client = client_for("mapalyze")
            client.config.require_token()
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return None

        def job(feedback):
            return export_records(client, fmt, path, form_id=form_id, since=since, feedback=feedback)

        self._busy(True)
        self.status.setText(f"Exporting {self.describe() or 'the records'} as {FORMAT_NAMES[fmt]}…")
        self.path = path
        self.run = self.runner.job(f"Mapalyze: export {fmt.upper()}", job, self._done, on_progress=self._progress,
                                   client=client)
        return self.run

    def cancel(self):
        """Stop the running export (a partial file is removed by the job)."""
        if self.run is not None:
            self.run.cancel()

    def _progress(self, percent, text):
        self.progress_bar.setValue(int(percent))
        if text:
            self.status.setText(text)

    def _done(self, outcome):
        self.run = None
        self._busy(False)
        if outcome.ok:
            self.status.setText(f"Saved {self.path}")
            show_success(self.iface, f"Mapalyze export saved to {self.path}")
        else:
            self.status.setText(show_error(self.iface, outcome.error))

    def _busy(self, busy):
        self.export_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setValue(0)

    def shutdown(self):
        """Cancel a running export without reporting back (plugin unload)."""
        self.runner.shutdown()
