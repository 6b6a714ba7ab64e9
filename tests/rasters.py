"""Small georeferenced GeoTIFFs made with GDAL, for the upload, My imagery and sandbox tests."""

from __future__ import annotations

from osgeo import gdal, osr

# Where the rasters lie: Moscow in degrees (EPSG:4326) or in metres (EPSG:3857).
ORIGINS = {4326: ((37.6, 55.76), 0.0001), 3857: ((4_187_000.0, 7_508_000.0), 10.0)}


def write_geotiff(path, width=64, height=64, bands=3, epsg=4326, step=None, driver="GTiff"):
    """A georeferenced raster at path (bands filled with distinct values); returns the path as a string."""
    origin, default_step = ORIGINS[epsg]
    step = step or default_step
    memory = gdal.GetDriverByName("MEM").Create("", width, height, bands, gdal.GDT_Byte)
    memory.SetGeoTransform((origin[0], step, 0, origin[1], 0, -step))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    memory.SetProjection(srs.ExportToWkt())
    for band in range(1, bands + 1):
        memory.GetRasterBand(band).Fill(band * 40)
    out = gdal.GetDriverByName(driver).CreateCopy(str(path), memory)
    out = None  # noqa: F841 - flush
    return str(path)


def geotiff_bytes(width, height, bands=3, epsg=4326):
    """The bytes of a small GeoTIFF (written through GDAL's in-memory file system)."""
    path = f"/vsimem/mapbridge-{width}-{height}-{bands}-{epsg}.tif"
    write_geotiff(path, width, height, bands, epsg)
    handle = gdal.VSIFOpenL(path, "rb")
    gdal.VSIFSeekL(handle, 0, 2)
    size = gdal.VSIFTellL(handle)
    gdal.VSIFSeekL(handle, 0, 0)
    data = gdal.VSIFReadL(1, size, handle)
    gdal.VSIFCloseL(handle)
    gdal.Unlink(path)
    return bytes(data)
