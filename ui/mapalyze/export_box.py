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

from ...api.errors import MapbridgeError
from ...core.mapalyze.export import FORMATS, export_records
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_success

FORMAT_LABELS = (("GeoJSON", "geojson"), ("CSV", "csv"), ("PDF report", "pdf"))
FILTERS = {"geojson": "GeoJSON (*.geojson *.json)", "csv": "CSV (*.csv)", "pdf": "PDF (*.pdf)"}


class ExportBox(QGroupBox):
    """Format choice, Export… (asks for a file) and Cancel; the form and since come from the tab."""

    def __init__(self, iface, filters, parent=None):
        super().__init__("Export", parent)
        self.iface = iface
        self.filters = filters  # callable -> (form_id or None, since or None)
        self.runner = BackgroundRunner(self)
        self.run = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.format_combo = QComboBox(self)
        self.format_combo.setObjectName("mapalyze_export_format")
        for label, fmt in FORMAT_LABELS:
            self.format_combo.addItem(label, fmt)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("mapalyze_export")
        self.export_button.setToolTip("Export the form (and since) chosen above to a file")
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

    def choose_and_export(self):
        """Ask where to save, then export."""
        fmt = self.format_combo.currentData()
        form_id, _ = self.filters()
        suggested = f"mapalyze_{form_id or 'all_forms'}{FORMATS[fmt]}"
        path, _ = QFileDialog.getSaveFileName(self, "Export Mapalyze records", suggested, FILTERS[fmt])
        if path:
            if not os.path.splitext(path)[1]:
                path += FORMATS[fmt]
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
        self.status.setText(f"Exporting {fmt.upper()}…")
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
