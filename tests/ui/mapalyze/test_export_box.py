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
