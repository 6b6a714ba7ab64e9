"""GDAL/OGR calls that behave the same whether GDAL exceptions are on or off.

GDAL reports a failure by a return code (None or an error number), or by RuntimeError once anyone in the
process called UseExceptions() — QGIS's Processing does from QGIS 3.28 on, 3.22 does not. Every call of ours
that can fail goes through attempt(), so one code path serves both.
"""

from __future__ import annotations

from osgeo import gdal


def failed(result):
    """True for GDAL's failure results: None, or a non-zero error code."""
    return result is None or (isinstance(result, int) and not isinstance(result, bool) and result != 0)


def attempt(method, *args, **kwargs):
    """(result, None) when method(*args, **kwargs) worked, else (None, GDAL's message), in either error mode."""
    gdal.ErrorReset()
    try:
        result = method(*args, **kwargs)
    except RuntimeError as exc:
        return None, str(exc) or "GDAL reported an error"
    if failed(result):
        return None, gdal.GetLastErrorMsg() or "GDAL reported an error"
    return result, None


def execute_sql(dataset, statement):
    """(result layer or None, None) when the SQL ran, else (None, GDAL's message), in either error mode.

    Unlike attempt(), a None result is no failure here: statements that return no rows give None.
    Release a result layer with dataset.ReleaseResultSet().
    """
    gdal.ErrorReset()
    try:
        result = dataset.ExecuteSQL(statement)
    except RuntimeError as exc:
        return None, str(exc) or "GDAL reported an error"
    if result is None and gdal.GetLastErrorType() >= gdal.CE_Failure:
        return None, gdal.GetLastErrorMsg() or "GDAL reported an error"
    return result, None
