"""The imagery source (ui/mapflow/source_panel.py) in the tab against the sandbox: a custom XYZ/TMS/Quadkey URL with
an optional login from the QGIS authentication database as a processing source."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsProject

from mapbridge.core.mapflow.sources import CUSTOM
from mapbridge.tests.ui.mapflow.conftest import MOSCOW, requests_to, start_processing, use_extent, wait_until


def test_a_custom_tile_url_with_a_login_as_the_source(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    panel, new = tab.new_page.source_panel, tab.new_page
    use_extent(tab, canvas, MOSCOW)
    panel.set_kind(CUSTOM)
    panel.url_edit.setText("https://tiles.example.com/{z}/{x}.png")
    assert "needs {y}" in panel.url_problem.text() and "needs {y}" in new.problems_label.text()
    assert not new.start_button.isEnabled()
    panel.url_type.setCurrentText("QUADKEY")
    panel.url_edit.setText("https://tiles.example.com/a/{q}.jpeg")
    assert not panel.url_problem.isVisible()
    assert wait_until(lambda: new.start_button.isEnabled(), 10), new.problems_label.text()
    panel.tiles_button.click()
    layer = QgsProject.instance().mapLayersByName("Custom imagery tiles")[0]
    assert layer.providerType() == "wms" and "%7Bq%7D" in layer.source()

    config = QgsAuthMethodConfig("Basic")
    config.setName("Tiles login")
    config.setConfig("username", "surveyor")
    config.setConfig("password", "s3cret-tiles")
    manager = QgsApplication.authManager()
    stored, config = manager.storeAuthenticationConfig(config)
    assert stored and config.id()
    authcfg = config.id()
    try:
        panel.url_type.setCurrentText("TMS")
        panel.url_edit.setText("https://tiles.example.com/tms/{z}/{x}/{y}.png")
        panel.url_zoom.setValue(17)
        panel.auth_select.setConfigId(authcfg)
        start_processing(tab, canvas, "On my tiles", MOSCOW)
    finally:
        manager.removeAuthenticationConfig(authcfg)
    source = requests_to(sandbox, "POST", "/processings/v2")[-1].json["params"]["sourceParams"]["userDefined"]
    assert source == {"sourceType": "TMS", "url": "https://tiles.example.com/tms/{z}/{x}/{y}.png",
                      "crs": "epsg:3857", "zoom": 17, "rasterLogin": "surveyor", "rasterPassword": "s3cret-tiles"}
    assert "s3cret" not in new.run_label.text() and not any("s3cret" in str(q) for q in tab.fake.asked)
