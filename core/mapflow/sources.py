"""The imagery a processing runs on, as the create body's `params.sourceParams`, and back from a processing."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...api.errors import MapbridgeError
from ...api.scrub import register
from .choices import DEFAULT_PROVIDER

PROVIDER, CATALOG, MY_IMAGERY, CUSTOM = "provider", "catalog", "my_imagery", "custom"
CUSTOM_TYPES = ("XYZ", "TMS", "QUADKEY")
CUSTOM_CRS = ("epsg:3857", "epsg:3395")
MAPFLOW = "mapflow"


@dataclass
class Source:
    """One of: a provider's basemap, catalog image(s), the user's own imagery (My imagery), or a custom tile URL."""

    kind: str = PROVIDER
    provider: str = DEFAULT_PROVIDER      # provider name; for catalog images the images' providerName
    zoom: int | None = None
    image_ids: list = field(default_factory=list)   # catalog images or My imagery images
    mosaic_id: str = ""
    url: str = ""
    url_type: str = "XYZ"
    crs: str = "epsg:3857"
    login: str = ""
    password: str = field(default="", repr=False)   # never stored, logged or shown
    label: str = ""                       # what the user sees (e.g. "Maxar image of 2021-07-07")

    def __post_init__(self):
        # The password goes in the create body (rasterPassword); an error echoing the body must never show it.
        register(self.password)

    def source_params(self):
        """The `sourceParams` object of the create and cost bodies."""
        if self.kind == CATALOG:
            search = {"dataProvider": self.provider.lower(), "imageIds": list(self.image_ids)}
            if self.zoom:
                search["zoom"] = int(self.zoom)
            return {"imagerySearch": search}
        if self.kind == MY_IMAGERY:
            return {"myImagery": {"mosaicId": self.mosaic_id} if self.mosaic_id
                    else {"imageIds": list(self.image_ids)}}
        if self.kind == CUSTOM:
            custom = {"sourceType": self.url_type, "url": self.url, "crs": self.crs}
            if self.zoom:
                custom["zoom"] = int(self.zoom)
            if self.login:
                custom["rasterLogin"] = self.login
                custom["rasterPassword"] = self.password
            return {"userDefined": custom}
        provider = {"providerName": self.provider or DEFAULT_PROVIDER}
        if self.zoom:
            provider["zoom"] = int(self.zoom)
        return {"dataProvider": provider}

    def describe(self):
        """The source in words (no password)."""
        if self.kind == CATALOG:
            return self.label or f"{len(self.image_ids):,} catalog image(s) of {self.provider}"
        if self.kind == MY_IMAGERY:
            return self.label or (f"My imagery: mosaic {self.mosaic_id}" if self.mosaic_id
                                  else f"My imagery: {len(self.image_ids):,} image(s)")
        if self.kind == CUSTOM:
            login = f", login {self.login}" if self.login else ""
            zoom = f", zoom {self.zoom}" if self.zoom else ""
            return f"{self.url_type} tiles {self.url}{zoom}{login}"
        return f"{self.label or self.provider}" + (f", zoom {self.zoom}" if self.zoom else "")

    @property
    def priced_by_provider(self):
        """True when a provider's price and minimum area apply (basemap or catalog image)."""
        return self.kind in (PROVIDER, CATALOG)


def provider_source(provider, zoom=None, label=""):
    """A provider's basemap at a zoom."""
    return Source(PROVIDER, provider=(provider or "").strip() or DEFAULT_PROVIDER, zoom=zoom or None, label=label)


def catalog_source(images):
    """Catalog images ({id, providerName, zoom, acquisitionDate}); several only when they share a provider."""
    images = [i for i in images if i.get("id")]
    if not images:
        raise MapbridgeError("no catalog image was chosen", service=MAPFLOW, hint="Select an image in the catalog")
    providers = {str(i.get("providerName") or "") for i in images}
    if len(providers) > 1:
        raise MapbridgeError(f"the chosen images come from several providers ({', '.join(sorted(providers))}); "
                             "one processing takes images of one provider", service=MAPFLOW,
                             hint="Choose images of one provider")
    provider = providers.pop()
    zooms = [int(i["zoom"]) for i in images if isinstance(i.get("zoom"), (int, float))]
    dates = sorted(str(i.get("acquisitionDate") or "")[:10] for i in images)
    label = (f"{provider} image of {dates[0]}" if len(images) == 1
             else f"{len(images):,} {provider} images of {dates[0]}–{dates[-1]}")
    return Source(CATALOG, provider=provider, zoom=min(zooms) if zooms else None,
                  image_ids=[str(i["id"]) for i in images], label=label)


def my_imagery_source(mosaic_id="", image_ids=(), label=""):
    """The user's own mosaic, or some of its images."""
    if not mosaic_id and not image_ids:
        raise MapbridgeError("no mosaic or image was chosen", service=MAPFLOW, hint="Choose one in My imagery")
    return Source(MY_IMAGERY, provider="", mosaic_id=mosaic_id or "", image_ids=list(image_ids), label=label)


def custom_source(url, url_type="XYZ", zoom=None, crs="epsg:3857", login=None, password=None):
    """A user XYZ/TMS/Quadkey tile URL (optionally with a login), checked before anything is sent."""
    url, url_type, crs = (url or "").strip(), (url_type or "XYZ").upper(), (crs or "epsg:3857").lower()
    problem = custom_url_problem(url, url_type)
    if problem:
        raise MapbridgeError(problem, service=MAPFLOW, hint="Check the tile URL")
    if crs not in CUSTOM_CRS:
        raise MapbridgeError(f"the tile CRS must be {' or '.join(CUSTOM_CRS)}", service=MAPFLOW)
    return Source(CUSTOM, provider="", zoom=zoom or None, url=url, url_type=url_type, crs=crs,
                  login=(login or "").strip(), password=password or "")


def custom_url_problem(url, url_type):
    """Why a custom tile URL cannot work, or ''."""
    if url_type not in CUSTOM_TYPES:
        return f"the tile type must be one of {', '.join(CUSTOM_TYPES)}"
    if not url.startswith(("https://", "http://")):
        return "the tile URL must start with https://"
    needed = ("{q}",) if url_type == "QUADKEY" else ("{z}", "{x}", "{y}")
    missing = [n for n in needed if n not in url]
    if missing:
        return f"the {url_type} tile URL needs {' '.join(missing)}"
    return ""


def source_from_params(params):
    """A Source back from a processing's `params.sourceParams` (for duplicating it); a provider when unknown."""
    source = ((params or {}).get("sourceParams") if isinstance(params, dict) else None) or {}
    if not isinstance(source, dict) or not source:
        return provider_source(DEFAULT_PROVIDER)
    kind, value = next(iter(source.items()))
    value = value if isinstance(value, dict) else {}
    zoom = value.get("zoom") if isinstance(value.get("zoom"), int) else None
    if kind == "imagerySearch":
        return Source(CATALOG, provider=str(value.get("dataProvider") or ""), zoom=zoom,
                      image_ids=[str(i) for i in value.get("imageIds") or []])
    if kind == "myImagery":
        return Source(MY_IMAGERY, provider="", mosaic_id=str(value.get("mosaicId") or ""),
                      image_ids=[str(i) for i in value.get("imageIds") or []])
    if kind == "userDefined":
        # The password is not given back by the service; the user types it again.
        return Source(CUSTOM, provider="", zoom=zoom, url=str(value.get("url") or ""),
                      url_type=str(value.get("sourceType") or "XYZ").upper(),
                      crs=str(value.get("crs") or "epsg:3857").lower(), login=str(value.get("rasterLogin") or ""))
    return provider_source(str(value.get("providerName") or DEFAULT_PROVIDER), zoom)


def login_of_authcfg(authcfg):
    """(user, password) of a QGIS authentication configuration (main thread: the master password may be asked)."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from ..credentials import ensure_master_password

    ensure_master_password()
    config = QgsAuthMethodConfig()
    result = QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True)
    ok = result[0] if isinstance(result, tuple) else result
    if isinstance(result, tuple) and len(result) > 1:
        config = result[1]
    if not ok:
        raise MapbridgeError(f"the authentication configuration {authcfg} could not be read", service=MAPFLOW,
                             hint="Check it in QGIS ▸ Options ▸ Authentication")
    password = config.config("password", "")
    register(password)
    return config.config("username", ""), password
