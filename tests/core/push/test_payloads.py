"""Feature payloads (core/push/payloads.py): a feature that cannot be sent is a skip with its reason."""

from __future__ import annotations

import pytest
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFields,
    QgsGeometry,
)

from mapbridge.core.push.geometry import SkipFeature
from mapbridge.core.qgis_compat import FIELD_STRING, make_field

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
CTX = QgsCoordinateTransformContext()


def test_payload_of_a_feature_with_a_null_name_is_a_skip():
    from mapbridge.core.push.payloads import MapiryPayloads

    fields = QgsFields()
    fields.append(make_field("name", FIELD_STRING))
    feature = QgsFeature(fields)
    feature.setAttributes([NULL])
    feature.setGeometry(QgsGeometry.fromWkt("POINT(1 2)"))
    with pytest.raises(SkipFeature, match="no name"):
        MapiryPayloads(fields, WGS84, CTX, "name")(feature)
