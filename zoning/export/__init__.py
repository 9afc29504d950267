"""Writers: screening output folders, carbon tables and county exports for ArcGIS/QGIS."""
