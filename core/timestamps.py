"""ISO 8601 date-times, parsed one way everywhere: strictly (no guessing), time zones kept."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from qgis.PyQt.QtCore import QDateTime, QTime

_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?")


def parse_iso(text):
    """(aware or naive datetime, has_sub_millisecond_digits) for an ISO 8601 date-time string, else None."""
    match = _ISO_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    fraction = fraction or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError:
        return None
    if offset:
        if offset in ("Z", "z"):
            value = value.replace(tzinfo=timezone.utc)
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if delta >= timedelta(hours=24):
                return None
            value = value.replace(tzinfo=timezone(sign * delta))
    return value, bool(fraction[3:].strip("0"))


def epoch_seconds(text):
    """Epoch seconds of an ISO 8601 date-time (a time without zone is taken as UTC), or None."""
    if not isinstance(text, str):
        return None
    parsed = parse_iso(text.strip())
    if parsed is None:
        return None
    value = parsed[0]
    return (value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)).timestamp()


def iso_utc(epoch):
    """Epoch seconds as ISO 8601 UTC with Z."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_to_iso_utc(value, end_of_day=False):
    """ISO 8601 UTC text of a QDateTime/QDate/str (a bare date means its start, or its end for DATE_TO)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return text + ("T23:59:59Z" if end_of_day else "T00:00:00Z")
        return text
    if hasattr(value, "isValid") and not value.isValid():
        return None
    if not isinstance(value, QDateTime):
        value = QDateTime(value, QTime(0, 0))  # a QDate (Qt6 has no QDateTime(QDate))
        if end_of_day:
            value = value.addSecs(86399)
    else:
        if end_of_day and value.time().hour() == 0 and value.time().minute() == 0 and value.time().second() == 0:
            value = value.addSecs(86399)
        value = value.toUTC()       # the same instant, whatever zone the date-time was given in
    return value.toString("yyyy-MM-ddTHH:mm:ss") + "Z"
