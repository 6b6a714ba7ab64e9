"""Which field a person would pick as a feature's name or label: a text field with many distinct values that reads
like names (words), not an identifier."""

from __future__ import annotations

import re

from ..qgis_compat import FIELD_STRING

PREFERRED = ("name", "label", "title", "nom", "naam", "nombre", "name_en")
ID_NAME = re.compile(r"(^|_)(id|uuid|guid|fid|key|code)$|^(fid|ogc_fid|record_id|objectid)$", re.IGNORECASE)
CODE_VALUE = re.compile(r"^[A-Za-z]{0,6}[-_]?[0-9A-Za-z]{4,}$")   # rec_4Ks92mPq, POLE-00123, a hash: not a name


def guess_name_field(fields, rows):
    """The field to preselect, or "" (`rows`: a sample of attribute lists, e.g. the layer's first few hundred)."""
    names = fields.names()
    for wanted in PREFERRED:
        for name in names:
            if name.lower() == wanted:
                return name
    best, best_score = "", 0.0
    for index, field in enumerate(fields):
        if field.type() != FIELD_STRING or ID_NAME.search(field.name()):
            continue
        values = [row[index] for row in rows if isinstance(row[index], str) and row[index].strip()]
        if not values:
            continue
        distinct = len(set(values))
        codes = sum(1 for v in values if v.lstrip().startswith(("{", "["))
                    or (CODE_VALUE.match(v) and not any(c.isspace() for c in v)))
        wordy = sum(1 for v in values if any(c.isalpha() for c in v)) / len(values)
        score = distinct * wordy * (1.0 - codes / len(values)) * len(values) / max(1, len(rows))
        if score > best_score:
            best, best_score = field.name(), score
    return best
