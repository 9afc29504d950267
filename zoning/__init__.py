"""zoning: 三线一单 / 生态环境分区管控 screening, forest carbon and exports for Nanping (南平市).

The public API (every name below is a function or class, never a submodule)::

    import zoning
    layers = zoning.load_layers("layers/catalog.yaml")
    results = zoning.screen("sites.gpkg", layers=layers, attributes={"industry": "C2614"})
    results.to_geodataframe()      # one row per site: verdict, unit, county, rules, areas (m²)
    results.explore()              # a folium.Map, offline

The package reads → analyses → renders → writes: ``zoning.geo`` and ``zoning.io`` (coordinates,
files, catalog, layers, sites), ``zoning.screening`` and ``zoning.carbon`` (analysis, result
model), ``zoning.engines`` (Dask), ``zoning.render`` (labels, reports, maps), ``zoning.export``
(output folders, county bundles), ``zoning.cli`` (the ``zoning`` command).
"""
from zoning._version import __version__
from zoning.api import (ScreenResults, check_layers, explore, export_county, import_layers, load_layers, program,
                        screen, stock, stock_totals, write_screen_outputs)
from zoning.errors import ZoningError
from zoning.io.catalog import Catalog, LayerSpec, load_catalog, load_layer
from zoning.io.layerset import LayerSet
from zoning.io.sites import read_sites
from zoning.screening.result import ScreenResult, read_results

__all__ = ["Catalog", "LayerSet", "LayerSpec", "ScreenResult", "ScreenResults", "ZoningError", "__version__",
           "check_layers", "explore", "export_county", "import_layers", "load_catalog", "load_layer", "load_layers", "program",
           "read_results", "read_sites", "screen", "stock", "stock_totals", "write_screen_outputs"]
