"""The Mapalyze tab's export box (ui/mapalyze/export_box.py) saves a file in the background."""

from __future__ import annotations

from mapbridge.tests.core.mapalyze.helpers import wait_for


def test_export_box_saves_a_pdf_in_the_background(qgis_iface, sandbox_env, tmp_path):
    from mapbridge.ui.mapalyze.export_box import ExportBox

    box = ExportBox(qgis_iface, lambda: ("form_WaterPoint", None))
    path = str(tmp_path / "water.pdf")
    assert box.export("pdf", path) is not None
    wait_for(lambda: not box.runner.busy)
    with open(path, "rb") as src:
        assert src.read(5) == b"%PDF-"
    assert "Saved" in box.status.text()
    box.shutdown()


def test_export_box_says_what_it_exports_and_opens_beside_the_project(plugin, qgis_iface, qgis_new_project, tmp_path):
    from qgis.core import QgsProject

    tab = plugin.ensure_dock().mapalyze_tab
    box = tab.export_box
    assert box.what_label.text() == "Exports all forms, every record."
    tab.form_combo.setEditText("form_Incident")
    tab.since_check.setChecked(True)
    assert box.what_label.text().startswith("Exports form_Incident, created since ")
    assert box.what_label.text().endswith(" UTC.")
    project_file = tmp_path / "survey" / "survey.qgz"
    project_file.parent.mkdir()
    assert QgsProject.instance().write(str(project_file))
    assert box.suggested_path("csv") == str(tmp_path / "survey" / "mapalyze_form_Incident.csv"), \
        "beside the saved project, not QGIS's working directory"


def test_export_status_and_bar_agree_while_mapalyze_prepares_it(qgis_iface, sandbox_env, tmp_path, monkeypatch):
    from mapbridge.sandbox import mapalyze as sandbox_mapalyze
    from mapbridge.ui.mapalyze.export_box import ExportBox

    monkeypatch.setattr(sandbox_mapalyze, "SYNC_EXPORT_MAX", 100)     # a job for anything bigger
    sandbox_env.state.mapalyze.job_seconds = 2.0
    box = ExportBox(qgis_iface, lambda: (None, None), lambda: "all forms, every record")
    shown = []
    box.run = box.export("geojson", str(tmp_path / "all.geojson"))
    box.run.on_progress = lambda percent, text: (box._progress(percent, text),
                                                 shown.append((box.progress_bar.value(), box.status.text())))
    wait_for(lambda: not box.runner.busy)
    assert "Saved" in box.status.text()
    preparing = [(value, text) for value, text in shown if "preparing" in text]
    assert preparing and all("%" not in text for _, text in preparing), "no second percent to disagree with"
    assert any(0 < value < 90 for value, _ in preparing)
    box.shutdown()
