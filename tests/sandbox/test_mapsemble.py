"""The Mapsemble emulator (sandbox/mapsemble.py): maps and paging, upsert by remote field, validation and limits."""

from __future__ import annotations

from mapbridge.tests.sandbox.geojson import feature_collection as _fc
from mapbridge.tests.sandbox.geojson import point_feature as _pt


def test_mapsemble_maps_and_paging(api):
    maps = {m["id"]: m for m in api("mapsemble", "GET", "/maps").json()["data"]}
    assert maps["ms_demo"]["remoteField"] == "external_id" and maps["ms_free"]["remoteField"] is None
    assert maps["ms_free"]["plan"] == "free" and maps["ms_demo"]["featureCount"] == 25
    r = api("mapsemble", "GET", "/maps/ms_demo/features", params={"page": 2, "per_page": 10}).json()
    assert r["type"] == "FeatureCollection" and r["meta"]["total"] == 25 and r["meta"]["page"] == 2
    assert len(r["features"]) == 10 and all("label" in f["properties"] and f["id"] for f in r["features"])


def test_mapsemble_upsert_by_remote_field(api, srv):
    first = api("mapsemble", "POST", "/maps/ms_demo/features",
                json=_fc(_pt(4.9, 52.37, label="New", external_id="X-1"),
                         _pt(4.91, 52.36, label="Old", external_id="EXT-0001")))
    assert first.status_code == 201
    body = first.json()
    assert body["created"] == 1 and body["updated"] == 1 and len(body["ids"]) == 2
    again = api("mapsemble", "POST", "/maps/ms_demo/features",
                json=_fc(_pt(5.0, 52.0, label="New v2", external_id="X-1")))
    assert again.json() == {"created": 0, "updated": 1, "ids": [body["ids"][0]]}
    feats = {f["id"]: f for f in srv.state.mapsemble.features("ms_demo")}
    assert len(feats) == 26 and feats[body["ids"][0]]["properties"]["label"] == "New v2"

    plain = api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(_pt(1, 1, label="a", external_id="X-1")))
    plain2 = api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(_pt(1, 1, label="a", external_id="X-1")))
    assert plain.json()["created"] == plain2.json()["created"] == 1   # no remoteField: duplicates

    r = api("mapsemble", "PATCH", "/maps/ms_demo/features",
            json=_fc({"type": "Feature", "geometry": None, "properties": {"external_id": "X-1", "rating": 5}}))
    assert r.status_code == 200 and r.json()["updated"] == 1
    feat = next(f for f in srv.state.mapsemble.features("ms_demo") if f["id"] == body["ids"][0])
    assert feat["properties"]["rating"] == 5 and feat["properties"]["label"] == "New v2"

    r = api("mapsemble", "PUT", "/maps/ms_demo/features",
            json=_fc(dict(_pt(6, 50, label="Replaced"), id=body["ids"][1]), _pt(6, 51, label="Brand new")))
    assert r.json()["created"] == 1 and r.json()["updated"] == 1

    r = api("mapsemble", "DELETE", "/maps/ms_demo/features", json={"remote_ids": ["X-1", "nope"]})
    assert r.json() == {"deleted": 1}
    r = api("mapsemble", "DELETE", "/maps/ms_demo/features", json={"ids": [body["ids"][1]]})
    assert r.json() == {"deleted": 1}
    assert len(srv.state.mapsemble.features("ms_demo")) == 25


def test_mapsemble_validation_and_limits(api, srv):
    bad = _fc(_pt(1, 1, label="ok"), _pt(200, 1, label="bad"))
    r = api("mapsemble", "POST", "/maps/ms_plain/features", json=bad)
    assert r.status_code == 422 and "features[1]" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["index"] == 1
    assert len(srv.state.mapsemble.features("ms_plain")) == 5
    poly = {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}}
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(poly)).status_code == 422
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json={"type": "Feature"}).status_code == 400
    too_many = _fc(*[_pt(1, 1, label=str(i)) for i in range(1001)])
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json=too_many).status_code == 413

    ninety = _fc(*[_pt(2.3, 48.8, label=str(i)) for i in range(90)])
    assert api("mapsemble", "POST", "/maps/ms_free/features", json=ninety).status_code == 201
    r = api("mapsemble", "POST", "/maps/ms_free/features", json=_fc(_pt(2.3, 48.8, label="101st")))
    assert r.status_code == 403 and r.json()["error"]["code"] == "PLAN_LIMIT_EXCEEDED"
    assert len(srv.state.mapsemble.features("ms_free")) == 100


def test_mapsemble_map_removed_by_its_owner_is_gone_from_the_api(api, srv):
    srv.state.mapsemble.remove_map("ms_free")
    assert api("mapsemble", "GET", "/maps/ms_free/features").status_code == 404
    assert "ms_free" not in [m["id"] for m in api("mapsemble", "GET", "/maps").json()["data"]]
