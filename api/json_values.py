"""Reading loosely typed JSON values the services send (numbers as numbers or as text)."""

from __future__ import annotations


def json_number(value):
    """A float from a JSON number or a numeric text; None otherwise (booleans, null, objects included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
