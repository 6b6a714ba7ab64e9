"""Fingerprints of what a feature sends: its values in the columns that shape the payload, its geometry, and
everything else the payload depends on (service, chosen fields, CRS, geometry mode) folded into a seed.

Computed from the feature's own values rather than from the payload, so unchanged features cost no payload.
"""

from __future__ import annotations

import hashlib
import json
from operator import itemgetter

from ..push.values import BinaryValue, json_value

VERSION = 2             # bump when payloads change in a way old fingerprints cannot see (all features then update)
DIGEST_SIZE = 12
_PLAIN = (str, int, float, bool)
_blake2b = hashlib.blake2b


def seed_of(settings):
    """The seed of a sync's fingerprints: a digest of everything besides the feature that shapes its payload."""
    text = json.dumps({"version": VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_SIZE).digest()


def value_text(value):
    """A stable text of one attribute value (the same value gives the same text in every session)."""
    if value is None or type(value) in _PLAIN:
        return repr(value)
    try:
        return repr(json_value(value))      # NULL variants → None, dates → ISO 8601, lists and maps as JSON values
    except BinaryValue:
        return "<binary>"


class Fingerprinter:
    """fingerprint(values, geometry) → hex digest over the given columns and the geometry's WKB."""

    def __init__(self, settings, columns):
        self.seed = seed_of(settings)
        self.columns = list(columns)
        # The values as one tuple, taken and printed in C: the common case of every feature, kept to few steps.
        getter = itemgetter(*self.columns) if self.columns else (lambda values: ())
        self.pick = getter if len(self.columns) != 1 else (lambda values: (getter(values),))

    def __call__(self, values, geometry):
        picked = self.pick(values)
        text = repr(picked)
        if "object at 0x" in text:          # a value whose repr names its address: print it by its JSON value
            text = "\x1f".join([value_text(value) for value in picked])
        data = self.seed + text.encode("utf-8", "surrogatepass")
        if geometry is not None:
            wkb = geometry.asWkb()          # empty for a null geometry: one call instead of isNull() and asWkb()
            if wkb:
                data += b"\x1e" + bytes(wkb)
        return _blake2b(data, digest_size=DIGEST_SIZE).hexdigest()
