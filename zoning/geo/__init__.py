"""Coordinates and measures: CRS choice, offsets (GCJ-02/BD-09), geodesic and planar areas, county lookup."""
