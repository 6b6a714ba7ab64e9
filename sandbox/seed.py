"""Deterministic, realistic seed data for the four emulated services."""

from __future__ import annotations

import random
import string
import time
import uuid
from datetime import datetime, timezone

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE36 = string.digits + string.ascii_lowercase
PHOTO_CHARS = string.ascii_lowercase + string.digits


def rng_for(seed, purpose):
    """A Random seeded from (seed, purpose); string seeds are stable across runs."""
    return random.Random(f"{purpose}:{seed}")


def base62(rng, n=8):
    """n random base62 characters."""
    return "".join(rng.choices(BASE62, k=n))


def cuid(rng):
    """A cuid-looking id ("c" + 24 lowercase base36 chars), as Mapiry uses."""
    return "c" + "".join(rng.choices(BASE36, k=24))


def uuid4(rng):
    """A deterministic UUID4 string."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_id(rng, n=32):
    """n random lowercase hex characters."""
    return "".join(rng.choices("0123456789abcdef", k=n))


def iso_ts(ts):
    """Epoch seconds to 'YYYY-MM-DDTHH:MM:SSZ'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# ---------------------------------------------------------------------------------------------
# Mapalyze
# ---------------------------------------------------------------------------------------------

# Assumption: the docs mention forms but document no form endpoint or field schema; these are
# plausible definitions served by GET /forms.
FORMS = [
    {"id": "form_GridInspection", "name": "Grid inspection", "fields": [
        {"name": "asset_id", "label": "Asset ID", "type": "string", "required": True},
        {"name": "pole_count", "label": "Number of poles", "type": "integer", "required": False},
        {"name": "voltage_kv", "label": "Voltage (kV)", "type": "decimal", "required": False},
        {"name": "condition", "label": "Condition", "type": "select", "required": False,
         "options": ["good", "fair", "poor", "critical"]},
        {"name": "inspection", "label": "Inspection", "type": "group", "required": False},
    ]},
    {"id": "form_TreeSurvey", "name": "Tree survey", "fields": [
        {"name": "species", "label": "Species", "type": "string", "required": True},
        {"name": "height_m", "label": "Height (m)", "type": "decimal", "required": False},
        {"name": "dbh_cm", "label": "Trunk diameter (cm)", "type": "integer", "required": False},
        {"name": "health", "label": "Health", "type": "select", "required": False,
         "options": ["healthy", "stressed", "dying", "dead"]},
        {"name": "tags", "label": "Tags", "type": "multiselect", "required": False},
    ]},
    {"id": "form_WaterPoint", "name": "Water point", "fields": [
        {"name": "source_type", "label": "Source type", "type": "select", "required": True,
         "options": ["borehole", "well", "spring", "tap", "tank"]},
        {"name": "functional", "label": "Functional", "type": "boolean", "required": False},
        {"name": "flow_lpm", "label": "Flow (l/min)", "type": "decimal", "required": False},
        {"name": "depth_m", "label": "Depth (m)", "type": "decimal", "required": False},
        {"name": "last_serviced_at", "label": "Last serviced", "type": "datetime", "required": False},
    ]},
    {"id": "form_Incident", "name": "Incident", "fields": [
        {"name": "category", "label": "Category", "type": "select", "required": True,
         "options": ["vandalism", "flooding", "fallen tree", "power outage", "other"]},
        {"name": "severity", "label": "Severity (1-5)", "type": "integer", "required": False},
        {"name": "description", "label": "Description", "type": "text", "required": False},
        {"name": "resolved", "label": "Resolved", "type": "boolean", "required": False},
    ]},
]
FORM_IDS = [f["id"] for f in FORMS]
FORM_CUM_WEIGHTS = [4, 7, 9, 10]

OPERATORS = [
    "J. Martinez", "Zoë Ødegård", "Jürgen Groß", "李雷", "韩梅梅", "Siobhán O'Brien",
    'Ana "Nita" Souza', "Émile Kouassi", "Nguyễn Thị Minh", "Ahmed Al-Farsi", "Renée D'Arcy",
    "Þórunn Ásgeirsdóttir", "Ñuño Peña", "Ольга Смирнова", "Kwame Mensah\nShift B",
    "Field team 3\n(night)", "Ålesund crew", "Priya Raghunathan",
]
# (name, lng, lat, ground altitude m)
SITES = [
    ("London", -0.1278, 51.5074, 35.0), ("Oslo", 10.7522, 59.9139, 23.0),
    ("Nairobi", 36.8219, -1.2921, 1795.0), ("Beijing", 116.4074, 39.9042, 44.0),
    ("São Paulo", -46.6333, -23.5505, 760.0), ("Berlin", 13.405, 52.52, 34.0),
    ("Reykjavík", -21.9426, 64.1466, 15.0), ("Sydney", 151.2093, -33.8688, 58.0),
]
SPECIES = ["Quercus robur", "Betula pendula", "Picea abies", "Acacia tortilis", "Ginkgo biloba",
           "Eucalyptus globulus", "Tilia cordata", "Platanus × acerifolia"]
INCIDENT_TEXT = [
    "Cable down across the footpath", 'Sign reads "DANGER" but is bent', "Water over the road;\nlane closed",
    "Branch on the line — reported to grid", "Graffiti on substation door, 2nd time this month",
    "Manhole cover missing", "", None,
]
YEAR_2025 = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()


def _form_fields(rng, form_id, ts):
    """Form-specific properties of one record."""
    if form_id == "form_GridInspection":
        return {
            "asset_id": f"POLE-{rng.randrange(100000):05d}",
            "pole_count": rng.randrange(1, 9) if rng.random() > 0.1 else None,
            "voltage_kv": rng.choice([0.4, 11.0, 33.0, 132.0]),
            "condition": rng.choice(["good", "good", "fair", "poor", "critical", None]),
            "inspection": {"ok": rng.random() > 0.2,
                           "notes": rng.choice(["", "Crossarm cracked", "Vegetation within 2 m",
                                                "Insulator chipped; photo 2", None])},
        }
    if form_id == "form_TreeSurvey":
        return {
            "species": rng.choice(SPECIES),
            "height_m": round(rng.uniform(2, 35), 1) if rng.random() > 0.15 else None,
            "dbh_cm": rng.randrange(5, 180),
            "health": rng.choice(["healthy", "healthy", "stressed", "dying", "dead"]),
            "tags": rng.choice([[], [1, "a"], [3, "leaning"], ["tpo", 2], [7]]),
        }
    if form_id == "form_WaterPoint":
        serviced = ts - rng.randrange(86400, 400 * 86400)
        return {
            "source_type": rng.choice(["borehole", "well", "spring", "tap", "tank"]),
            "functional": rng.random() > 0.25,
            "flow_lpm": round(rng.uniform(0, 60), 2) if rng.random() > 0.2 else None,
            "depth_m": round(rng.uniform(3, 120), 1) if rng.random() > 0.3 else None,
            "last_serviced_at": iso_ts(serviced) if rng.random() > 0.1 else None,
        }
    return {
        "category": rng.choice(["vandalism", "flooding", "fallen tree", "power outage", "other"]),
        "severity": rng.randrange(1, 6),
        "description": rng.choice(INCIDENT_TEXT),
        "resolved": rng.choice([True, False, None]),
    }


def sync_delay(rng):
    """Seconds between a record's capture and its arrival on the server: mostly minutes, some offline for days."""
    roll = rng.random()
    if roll < 0.7:
        return rng.uniform(5, 600)
    if roll < 0.95:
        return rng.uniform(3600, 2 * 86400)
    return rng.uniform(2 * 86400, 20 * 86400)


def mapalyze_records(count, seed):
    """`count` record dicts {id, form_id, coordinates, captured_at, ts, created, properties}.

    `created` is when the record reached the server (epoch seconds): after its capture, by a sync delay drawn
    from its own generator so the records themselves stay the same for a seed."""
    rng = rng_for(seed, "mapalyze")
    delays = rng_for(seed, "mapalyze-sync")
    seen = set()
    out = []
    for _ in range(count):
        rec_id = "rec_" + base62(rng)
        while rec_id in seen:
            rec_id = "rec_" + base62(rng)
        seen.add(rec_id)
        form_id = rng.choices(FORM_IDS, cum_weights=FORM_CUM_WEIGHTS)[0]
        site = rng.choice(SITES)
        coords = [round(site[1] + rng.uniform(-0.15, 0.15), 6), round(site[2] + rng.uniform(-0.1, 0.1), 6)]
        if rng.random() < 0.3:
            coords.append(round(site[3] + rng.uniform(-10, 60), 1))
        ts = YEAR_2025 + rng.randrange(365 * 86400)
        captured = iso_ts(ts)
        photos = ["ph_" + "".join(rng.choices(PHOTO_CHARS, k=6)) for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))]
        props = {
            "form_id": form_id,
            "operator": rng.choice(OPERATORS),
            "captured_at": captured,
            "gps_accuracy_m": round(rng.uniform(0.3, 12.0), 2),
            "synced": rng.random() < 0.92,
            "photos": photos,
        }
        props.update(_form_fields(rng, form_id, ts))
        out.append({"id": rec_id, "form_id": form_id, "coordinates": coords, "captured_at": captured,
                    "ts": float(ts), "created": round(ts + sync_delay(delays), 3), "properties": props})
    return out


# ---------------------------------------------------------------------------------------------
# Mapiry
# ---------------------------------------------------------------------------------------------

MAPIRY_LOCATIONS = [
    ("Fuglen Tokyo", 35.6654, 139.7006, "1-16-11 Tomigaya, Shibuya", "cafe"),
    ("Bear Pond Espresso", 35.6585, 139.6968, "2-36-12 Kitazawa, Setagaya", "cafe"),
    ("Café de l'Ambre", 35.6696, 139.7647, "8-10-15 Ginza, Chūō", "cafe"),
    ("Onibus Coffee", 35.6393, 139.6987, None, "cafe"),
    ("Tsukiji Outer Market", 35.6654, 139.7707, "4-16-2 Tsukiji", "food"),
    ("Meiji Jingū", 35.6764, 139.6993, "1-1 Yoyogikamizonochō", "sight"),
    ('"Golden Gai" alleys', 35.6938, 139.7036, "1 Kabukichō, Shinjuku", "sight"),
    ("Sensō-ji", 35.7148, 139.7967, "2-3-1 Asakusa, Taitō", "sight"),
]


def mapiry_seed(seed):
    """Demo map content: categories, tags, layers and locations (ids deterministic)."""
    rng = rng_for(seed, "mapiry")
    cats = {"cafe": {"id": cuid(rng), "name": "Cafés", "color": "#A16207", "icon": "coffee"},
            "food": {"id": cuid(rng), "name": "Food", "color": "#DC2626", "icon": "utensils"},
            "sight": {"id": cuid(rng), "name": "Sights", "color": "#2563EB", "icon": "landmark"}}
    tags = [{"id": cuid(rng), "name": n, "color": c} for n, c in (("favourite", "#F59E0B"), ("rainy day", "#64748B"))]
    layers = [{"id": cuid(rng), "name": "Day 1", "color": "#6366F1", "order": 0},
              {"id": cuid(rng), "name": "Day 2", "color": "#10B981", "order": 1}]
    locs = []
    for i, (name, lat, lng, address, cat) in enumerate(MAPIRY_LOCATIONS):
        locs.append({"id": cuid(rng), "name": name, "lat": lat, "lng": lng, "address": address,
                     "description": None if i % 3 else "Opens 8:00 – closes 18:00",
                     "notes": "Cash only" if i == 2 else None, "categoryId": cats[cat]["id"],
                     "layerIds": [layers[i % 2]["id"]] if i < 6 else []})
    return {"categories": list(cats.values()), "tags": tags, "layers": layers, "locations": locs}


# ---------------------------------------------------------------------------------------------
# Mapsemble
# ---------------------------------------------------------------------------------------------

def mapsemble_features(rng, count, center, prefix, remote=True):
    """`count` point features around center with label/category/rating (+external_id)."""
    feats = []
    for i in range(count):
        props = {
            "label": f"{prefix} {i + 1:03d}",
            "category": rng.choice(["shop", "office", "depot", "café"]),
            "rating": rng.choice([1, 2, 3, 4, 5, None]),
            "opened": f"20{rng.randrange(10, 25)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
        }
        if remote:
            props["external_id"] = f"EXT-{i + 1:04d}"
        geom = {"type": "Point",
                "coordinates": [round(center[0] + rng.uniform(-0.05, 0.05), 6),
                                round(center[1] + rng.uniform(-0.05, 0.05), 6)]}
        feats.append({"geometry": geom, "properties": props})
    return feats


# ---------------------------------------------------------------------------------------------
# Mapflow
# ---------------------------------------------------------------------------------------------

# The image of the Data API page's example, kept verbatim so the doc's example search finds it.
DOC_IMAGE = {
    "id": "a518230a236664891bfb2d8041028a59",
    "footprint": {"type": "Polygon", "coordinates": [[
        [37.2883723, 55.96500262], [37.3950109, 55.96416162], [37.50164951, 55.96332062],
        [37.50141629, 55.72561772], [37.50118307, 55.48791481], [37.39506886, 55.48708936],
        [37.28895464, 55.48626391], [37.28866347, 55.72563326], [37.2883723, 55.96500262]]]},
    "pixelResolution": 0.31,
    "acquisitionDate": "2021-07-07T08:42:03Z",
    "productType": "Pan Sharpened Natural Color",
    "sensor": "WV03_VNIR",
    "colorBandOrder": "RGB",
    "cloudCover": 0.0,
    "offNadirAngle": 6.471679,
}
CATALOG_CENTERS = [(37.45, 55.72), (37.62, 55.75), (-0.12, 51.5), (36.82, -1.29), (-46.63, -23.55),
                   (13.4, 52.52), (10.75, 59.91)]
SENSORS = [("WV03_VNIR", [0.3, 0.31]), ("WV02", [0.46, 0.5]), ("GE01", [0.41, 0.5]),
           ("PHR1A", [0.5]), ("PNEO3", [0.3]), ("SPOT7", [1.5])]
PRODUCT_TYPES = ["Pan Sharpened Natural Color", "Pan Sharpened Natural Color", "Natural Color Mosaic"]


def catalog_images(seed, per_center=24):
    """Seeded catalog images: the doc's example plus `per_center` around several cities."""
    rng = rng_for(seed, "catalog")
    images = [dict(DOC_IMAGE)]
    start = datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp()
    for cx, cy in CATALOG_CENTERS:
        for _ in range(per_center):
            w = rng.uniform(0.08, 0.25)
            h = rng.uniform(0.08, 0.25)
            x0 = cx + rng.uniform(-0.15, 0.15) - w / 2
            y0 = cy + rng.uniform(-0.1, 0.1) - h / 2
            skew = rng.uniform(-0.003, 0.003)
            ring = [[x0 + skew, y0 + h], [x0 + w / 2, y0 + h - skew / 2], [x0 + w, y0 + h - skew],
                    [x0 + w - skew, y0 + h / 2], [x0 + w, y0], [x0 + w / 2, y0 + skew / 2], [x0, y0 + skew],
                    [x0 + skew / 2, y0 + h / 2], [x0 + skew, y0 + h]]
            ring = [[round(x, 8), round(y, 8)] for x, y in ring]
            sensor, resolutions = rng.choice(SENSORS)
            images.append({
                "id": hex_id(rng),
                "footprint": {"type": "Polygon", "coordinates": [ring]},
                "pixelResolution": rng.choice(resolutions),
                "acquisitionDate": iso_ts(start + rng.randrange(7 * 365 * 86400)),
                "productType": rng.choice(PRODUCT_TYPES),
                "sensor": sensor,
                "colorBandOrder": "RGB",
                "cloudCover": round(rng.choice([0.0, 0.0, rng.uniform(0, 0.3), rng.uniform(0, 0.9)]), 3),
                "offNadirAngle": round(rng.uniform(0.5, 35), 6),
            })
    return images
