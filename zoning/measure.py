"""Areas and lengths in metres: geodesic on the CGCS2000 ellipsoid, or planar in a fitting CRS."""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .crs import EQUAL_AREA_CRS, GEOD, gk_epsg_for_lon


def geodesic_area(geom: BaseGeometry | None) -> float:
    """Geodesic area (m²) of a lon/lat geometry on the CGCS2000 (GRS80) ellipsoid."""
    if geom is None or geom.is_empty:
        return 0.0
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def geodesic_areas(geoms) -> np.ndarray:
    """Geodesic areas (m²) for an array of lon/lat geometries."""
    return np.array([geodesic_area(g) for g in geoms], dtype="float64")


def geodesic_length(geom: BaseGeometry | None) -> float:
    """Geodesic length (m) of a lon/lat line, or perimeter of a polygon."""
    if geom is None or geom.is_empty:
        return 0.0
    return GEOD.geometry_length(geom)


def equal_area(gdf):
    """``gdf`` reprojected to the city's Albers equal-area CRS (metres)."""
    return gdf.to_crs(EQUAL_AREA_CRS)


def gk_crs_for(gdf) -> int:
    """The Gauss-Kruger EPSG code fitting the centroid of all of ``gdf`` (EPSG:4490 input)."""
    minx, miny, maxx, maxy = gdf.total_bounds
    return gk_epsg_for_lon((minx + maxx) / 2)


def planar_areas(geoms) -> np.ndarray:
    """Planar areas of geometries already in a projected CRS (m²)."""
    return shapely.area(np.asarray(geoms))
