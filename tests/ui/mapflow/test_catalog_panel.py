"""The imagery catalog (ui/mapflow/catalog_panel.py) in the tab against the sandbox: numbers sort as numbers, product
and provider filters, a preview on the map, the chosen image by date and provider (forgotten when a search no longer
finds it), and the footprints layer and table in sync."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import Qt

from mapbridge.core.mapflow.sources import CATALOG
from mapbridge.tests.ui.mapflow.conftest import DOC_AOI, MOSCOW, requests_to, start_processing, use_extent, wait_until
from mapbridge.ui.mapflow.catalog_panel import FID_ROLE, FOOTPRINTS_NAME, TABLE_COLUMNS
from mapbridge.ui.mapflow.tab import IMAGERY, NEW

WIDE = (37.61, 55.74, 37.65, 55.76)   # about 6 km² over the seeded Moscow images


def search(tab, canvas, rectangle=WIDE):
    from qgis.core import QgsRectangle

    catalog = tab.imagery_page.catalog
    use_extent(tab, canvas, QgsRectangle(*rectangle) if isinstance(rectangle, tuple) else rectangle)
    tab.pages.setCurrentIndex(IMAGERY)
    catalog.search()
    assert wait_until(lambda: catalog.run is None and catalog.search_button.isEnabled(), 20), catalog.status.text()
    return catalog


def column(field):
    return next(i for i, (f, _) in enumerate(TABLE_COLUMNS) if f == field)


def test_numbers_sort_as_numbers_and_the_table_follows_the_layer(tab, canvas, sandbox_env):
    catalog = search(tab, canvas)
    assert catalog.model.rowCount() >= 8 and catalog.layer.featureCount() == catalog.model.rowCount()
    catalog.table.sortByColumn(column("cloudCover"), Qt.SortOrder.AscendingOrder)
    texts = [catalog.model.item(r, column("cloudCover")).text() for r in range(catalog.model.rowCount())]
    values = [float(t) for t in texts]
    assert values == sorted(values) and texts != sorted(texts)   # 5 before 13, not "13" before "5"
    catalog.table.selectRow(0)
    assert len(catalog.layer.selectedFeatureIds()) == 1
    other = [f.id() for f in catalog.layer.getFeatures() if f.id() not in catalog.layer.selectedFeatureIds()][0]
    catalog.layer.selectByIds([other])
    assert catalog.selected_fids() == [other]
    QgsProject.instance().removeMapLayer(catalog.layer.id())
    assert catalog.model.rowCount() == 0 and catalog.layer is None
    assert "removed" in catalog.status.text() and not catalog.use_button.isEnabled()


def test_product_type_and_provider_filters(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    catalog = tab.imagery_page.catalog
    providers = [catalog.provider_combo.itemText(i) for i in range(catalog.provider_combo.count())]
    assert providers == ["Any provider", "Maxar archive", "Airbus OneAtlas"]   # display names of the account
    catalog.product_combo.setCurrentIndex(catalog.product_combo.findData("MOSAIC"))
    catalog.provider_combo.setCurrentIndex(catalog.provider_combo.findData("Maxar"))
    search(tab, canvas)
    body = requests_to(sandbox, "POST", "/catalog/meta")[-1].json
    assert body["productTypes"] == ["MOSAIC"] and body["dataProviders"] == ["Maxar"]
    rows = catalog.model.rowCount()
    assert rows >= 1
    assert {catalog.model.item(r, column("providerName")).text() for r in range(rows)} == {"Maxar"}
    assert {catalog.model.item(r, column("productType")).text().upper() for r in range(rows)} == {"MOSAIC"}
    catalog.product_combo.setCurrentIndex(0)
    catalog.provider_combo.setCurrentIndex(0)
    search(tab, canvas)
    body = requests_to(sandbox, "POST", "/catalog/meta")[-1].json
    assert "productTypes" not in body and "dataProviders" not in body and catalog.model.rowCount() > rows


def preview_on_map(tab, canvas, preview_type):
    """Preview the first found image of a preview type; (its footprint feature, the layer) once on the map, placed
    on the footprint."""
    catalog = search(tab, canvas)
    row = next(r for r in range(catalog.model.rowCount())
               if catalog.layer.getFeature(catalog.model.item(r, 0).data(FID_ROLE))["previewType"] == preview_type)
    catalog.table.selectRow(row)
    feature = catalog.layer.getFeature(catalog.selected_fids()[0])
    catalog.preview_button.click()
    name = f"Preview {feature['providerName']} {str(feature['acquisitionDate'])[:10]}"
    project = QgsProject.instance()
    assert wait_until(lambda: project.mapLayersByName(name), 15), catalog.status.text()
    layer = project.mapLayersByName(name)[0]
    assert isinstance(layer, QgsRasterLayer) and layer.isValid() and layer.providerType() == "gdal"
    box = feature.geometry().boundingBox()
    assert layer.extent().xMinimum() == pytest.approx(box.xMinimum(), abs=0.005)
    assert layer.extent().yMaximum() == pytest.approx(box.yMaximum(), abs=0.005)
    return feature, layer


def test_preview_of_a_found_image_on_the_map(tab, canvas, sandbox_env):
    feature, _ = preview_on_map(tab, canvas, "png")
    fetched = requests_to(sandbox_env, "GET", f"/presigned/catalog/{feature['id']}")
    assert fetched and fetched[-1].status == 200 and "authorization" not in fetched[-1].headers


def test_a_wms_preview_is_the_picture_its_getmap_url_gives_placed_on_its_box(tab, canvas, sandbox_env):
    feature, _ = preview_on_map(tab, canvas, "wms")
    asked = requests_to(sandbox_env, "GET", "/wms/catalog")
    assert len(asked) == 1 and asked[0].status == 200, "the pre-signed GetMap, as the catalog gave it"
    assert "authorization" not in asked[0].headers and asked[0].query["LAYERS"] == [feature["id"]]


def test_the_chosen_image_by_date_and_provider_processed_then_forgotten(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    catalog = search(tab, canvas, DOC_AOI)
    doc_row = next(r for r in range(catalog.model.rowCount())
                   if catalog.model.item(r, column("id")).text() == "a518230a236664891bfb2d8041028a59")
    catalog.table.selectRow(doc_row)
    catalog.use_button.click()
    panel = tab.new_page.source_panel
    assert tab.pages.currentIndex() == NEW and panel.kind() == CATALOG
    assert panel.catalog_label.text() == "Maxar image of 2021-07-07"
    start_processing(tab, canvas, "On the catalog image", MOSCOW)
    source = requests_to(sandbox, "POST", "/processings/v2")[-1].json["params"]["sourceParams"]
    assert source == {"imagerySearch": {"dataProvider": "maxar", "imageIds": ["a518230a236664891bfb2d8041028a59"],
                                        "zoom": 18}}
    search(tab, canvas, (-0.15, 51.48, -0.13, 51.49))   # London: the Moscow image is not found there
    assert panel.chosen[CATALOG] is None and panel.catalog_label.text().startswith("None chosen")
    assert "chosen before is not among them" in catalog.status.text()
    assert len(QgsProject.instance().mapLayersByName(FOOTPRINTS_NAME)) == 1
