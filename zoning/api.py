"""The public Python API: what ``import zoning`` exposes.

Every function here is a thin layer over the library (read → analyse → render → write) with
keyword-only options and the same defaults as the ``zoning`` command. Results stay data:
GeoDataFrames, DataFrames and result objects; maps are ``folium.Map`` objects.

    >>> import zoning
    >>> layers = zoning.load_layers("layers/catalog.yaml")          # load once, screen often
    >>> results = zoning.screen("118.17,26.64", layers=layers, attributes={"industry": "C1371"})
    >>> results.to_geodataframe()[["site_id", "verdict", "unit_code"]]
    >>> results.explore()                                            # a folium.Map
"""
from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, overload

import geopandas as gpd
import pandas as pd
import shapely

from zoning.errors import ZoningError
from zoning.io.catalog import Catalog, load_catalog, load_layer
from zoning.io.layerset import LayerSet, load_layerset
from zoning.io.sites import read_sites
from zoning.screening.overlay import DEFAULT_BUFFERS_M
from zoning.screening.result import ScreenResult, read_results
from zoning.vocabulary import OUTCOME_EN, OUTCOME_ZH

if TYPE_CHECKING:  # pragma: no cover
    import folium

    from zoning.carbon.run import ProgramResult
    from zoning.io.checks import Finding
    from zoning.screening.rules import RulePack

Progress = Callable[[int, int], None]
#: roles whose overlap areas (m²) get a column of their own in ScreenResults.to_geodataframe()
AREA_ROLES = ("red_line", "protected", "park", "no_burn")


# ------------------------------------------------------------------------------ layers
def load_layers(catalog: Catalog | Path | str | None = None, *, engine: str = "pyogrio") -> LayerSet:
    """Load every layer of a catalog once, as a reusable :class:`LayerSet`.

    ``catalog`` is a :class:`Catalog`, a path to a catalog YAML, or None for the default
    (``$ZONING_CATALOG``, else ``./layers/catalog.yaml``). Pass the result as ``layers=`` to
    :func:`screen`, :func:`explore`, :func:`program` and :func:`export_county` so that repeated
    calls do not read the layers again.
    """
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return load_layerset(cat, engine=engine)


def _layers(layers: LayerSet | None, catalog: Catalog | Path | str | None, engine: str = "pyogrio") -> LayerSet:
    if layers is not None:
        if not isinstance(layers, LayerSet):
            raise TypeError(f"layers must be a LayerSet from zoning.load_layers(), not {type(layers).__name__}")
        return layers
    return load_layers(catalog, engine=engine)


def check_layers(catalog: Catalog | Path | str | None = None, *, engine: str = "pyogrio") -> list[Finding]:
    """Validate every layer of a catalog (CRS, fields, geometries, unit codes, raster units,
    the control units' partition of the admin area). A clean catalog gives findings that are
    all ``ok``; each finding has ``layer``, ``role``, ``check``, ``ok`` and ``detail``."""
    from zoning.io.checks import check_catalog

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return check_catalog(cat, engine=engine)


# ------------------------------------------------------------------------------ screening
class ScreenResults(Sequence):
    """The results of one :func:`screen` call: a sequence of :class:`ScreenResult`, in input order.

    ``to_geodataframe()`` gives one row per site, ``to_json()`` the JSON of every result,
    ``explore()`` a ``folium.Map``; in Jupyter the object shows as a compact table.
    """

    def __init__(self, results: Sequence[ScreenResult], layers: LayerSet | None = None):
        self._results = list(results)
        #: the layer set the sites were screened against (used by explore())
        self.layers = layers

    @overload
    def __getitem__(self, index: int) -> ScreenResult: ...

    @overload
    def __getitem__(self, index: slice) -> ScreenResults: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ScreenResults(self._results[index], self.layers)
        return self._results[index]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[ScreenResult]:
        return iter(self._results)

    def __repr__(self) -> str:
        counts = pd.Series([r.verdict or "error" for r in self._results]).value_counts().to_dict()
        return f"<ScreenResults: {len(self)} site(s) {counts}>"

    @property
    def errors(self) -> list[ScreenResult]:
        """The sites that could not be screened (``verdict`` None, ``error`` says why)."""
        return [r for r in self._results if r.error]

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """One row per site, EPSG:4490.

        Columns: ``site_id``, ``name``, ``verdict`` (prohibited | conditional | needs_info |
        compliant, None for an error row), ``unit_code``, ``unit_name``, ``unit_class`` (the
        control unit holding most of the site), ``county``, ``county_code``, ``rules`` (ids of
        the rules that fired with an outcome other than compliant, comma-separated),
        ``area_m2`` (ellipsoidal area of the site, m²), ``length_m`` (geodesic length of a line
        site, m), ``<role>_m2`` (overlap with red lines, protected areas, parks, no-burn zones,
        m², as measured in the site's GK zone), ``warnings`` (count), ``error``, geometry.
        """
        rows = []
        for r in self._results:
            units = sorted((h for h in r.hits if h.role == "control_unit"), key=lambda h: (-h.share, -h.area_m2))
            unit = units[0] if units else None
            row: dict[str, Any] = {
                "site_id": r.site_id, "name": r.site.name or r.inputs.get("name"), "verdict": r.verdict,
                "unit_code": unit.id if unit else None, "unit_name": unit.name if unit else None,
                "unit_class": unit.cls if unit else None, "county": r.site.county, "county_code": r.site.county_code,
                "rules": ", ".join(x.id for x in r.rules if x.outcome != "compliant"),
                "area_m2": r.site.area_m2, "length_m": r.site.length_m}
            for role in AREA_ROLES:
                row[f"{role}_m2"] = float(sum(h.area_m2 for h in r.hits if h.role == role))
            row["warnings"] = len(r.warnings)
            row["error"] = r.error
            row["geometry"] = shapely.from_wkt(r.site.wkt) if r.site.wkt else None
            rows.append(row)
        columns = ["site_id", "name", "verdict", "unit_code", "unit_name", "unit_class", "county", "county_code",
                   "rules", "area_m2", "length_m", *(f"{role}_m2" for role in AREA_ROLES), "warnings", "error",
                   "geometry"]
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=4490)

    def to_json(self, indent: int | None = 2) -> str:
        """A JSON list with every result (each as in zoning/schema/result.schema.json)."""
        return json.dumps([r.to_dict() for r in self._results], ensure_ascii=False, indent=indent)

    def _repr_html_(self, max_rows: int = 50, lang: str = "zh") -> str:
        labels = OUTCOME_EN if lang == "en" else OUTCOME_ZH
        head = (("site", "verdict", "county", "unit", "rules", "error") if lang == "en" else
                ("站点", "结论", "县区", "管控单元", "触发规则", "错误"))
        frame = self.to_geodataframe()
        body = []
        for row in frame.head(max_rows).itertuples():
            cells = (row.site_id, labels.get(row.verdict, "—") if row.verdict else "—", row.county or "—",
                     f"{row.unit_code} {row.unit_class or ''}" if row.unit_code else "—", row.rules or "—",
                     row.error or "")
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        more = len(frame) - max_rows
        tail = f"<p>… {more} more</p>" if more > 0 else ""
        return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
                + "".join(body) + "</tbody></table>" + tail)

    def explore(self, *, m: folium.Map | None = None, lang: str = "zh", **kwargs) -> folium.Map:
        """These results on the map of their layer set (a ``folium.Map``); see :func:`explore`."""
        return explore(results=self, layers=self.layers, m=m, lang=lang, **kwargs)


def screen(sites, *, layers: LayerSet | None = None, catalog: Catalog | Path | str | None = None,
           attributes: Mapping[str, Any] | None = None, rule_pack: RulePack | Path | str | None = None,
           buffers_m: Sequence[float] = DEFAULT_BUFFERS_M, crs: str | int | None = None, layer: str | None = None,
           engine: str = "pyogrio", base_year: int | None = None, compute: str = "local",
           scheduler: str | None = None, progress: Progress | None = None) -> ScreenResults:
    """Screen project sites against the zoning layers and the access-list rules.

    Parameters
    ----------
    sites : path, coordinate string or GeoDataFrame
        Anything :func:`read_sites` accepts (files of one or many sites, ``"118.17,26.64"``,
        corner tables …), or its output.
    layers : a :class:`LayerSet` from :func:`load_layers` (recommended when screening often);
        else ``catalog`` (a Catalog or a path) is loaded.
    attributes : project attributes applied to every site, e.g. ``{"industry": "C2614",
        "boiler_th": 8}`` (they override the file's columns).
    rule_pack : a rule pack (object or YAML path); default: the one the catalog names.
    buffers_m : buffer ring radii, metres.
    crs : CRS of the input when it has none (EPSG code, ``"gcj02"`` or ``"bd09"``).
    layer : layer name inside a multi-layer site file.
    base_year : first year of the forgone forest sink (default: this calendar year).
    compute : ``"local"`` (this process) or ``"dask"`` (a LocalCluster, or the cluster at
        ``scheduler``); both give the same results.
    progress : called as ``progress(done, total)`` after each site.

    Returns
    -------
    ScreenResults, one :class:`ScreenResult` per site in input order. A site that cannot be
    read or screened gives a result with ``error`` set and no verdict; the others are screened.
    """
    from zoning.screening.pipeline import prepare_sites, resolve_rule_pack
    from zoning.screening.pipeline import screen as screen_here

    layer_set = _layers(layers, catalog, engine)
    pack = resolve_rule_pack(rule_pack, layer_set.catalog)
    frame = prepare_sites(sites, crs=crs, engine=engine, layer=layer)
    if compute == "dask":
        from zoning.engines.dask_engine import screen_dask
        from zoning.screening import attributes as attrs_mod

        overrides = {k: attrs_mod.parse_value(k, v) for k, v in (attributes or {}).items()}
        results = screen_dask(frame, layers=layer_set, rule_pack=pack, attributes=overrides,
                              buffers_m=tuple(buffers_m), base_year=base_year, scheduler=scheduler)
        if progress:
            progress(len(results), len(results))
    elif compute == "local":
        results = screen_here(frame, layers=layer_set, rule_pack=pack, attributes=attributes, buffers_m=buffers_m,
                              base_year=base_year, progress=progress)
    else:
        raise ZoningError(f"未知计算引擎 {compute!r}", f"unknown compute engine {compute!r}; use local or dask")
    return ScreenResults(results, layer_set)


# ------------------------------------------------------------------------------ maps
def explore(sites=None, results: Sequence[ScreenResult] | None = None, *, catalog: Catalog | Path | str | None = None,
            layers: LayerSet | None = None, m: folium.Map | None = None, lang: str = "zh",
            attributes: Mapping[str, Any] | None = None, crs: str | int | None = None,
            basemaps: list[dict] | None = None, raster: bool = True, title: str | None = None) -> folium.Map:
    """The zoning layers (and sites) as a ``folium.Map``, offline: every asset is inlined.

    ``sites`` (anything :func:`screen` takes) are screened first, with ``attributes``;
    ``results`` (a :class:`ScreenResults`, a list of results, or result files / ``zoning
    screen -o`` folders) are drawn as they are. Sites are coloured by verdict with their
    buffer rings. Pass ``m=`` to draw into your own map; add layers to the returned one.
    ``basemaps`` is a list of tile templates you configured (see
    ``zoning.render.maps.basemaps_from_env``); by default there is no basemap (no network).
    """
    try:
        from zoning.render.maps import build_map
    except ImportError as exc:  # folium is a core dependency; say what to do if it went missing
        raise ZoningError("交互地图需要 folium：pip install folium", "interactive maps need folium: "
                          f"pip install folium ({exc})") from None
    if layers is None and isinstance(results, ScreenResults) and results.layers is not None:
        layers = results.layers
    layer_set = _layers(layers, catalog)
    drawn: list[ScreenResult] = []
    if results is not None:
        if isinstance(results, (str, Path)) or (isinstance(results, Sequence) and results
                                                and isinstance(results[0], (str, Path))):
            drawn += read_results(results)
        else:
            drawn += list(results)
    if sites is not None:
        drawn += list(screen(sites, layers=layer_set, attributes=attributes, crs=crs))
    return build_map(layer_set, drawn, lang=lang, title=title, basemaps=basemaps, raster=raster, m=m)


# ------------------------------------------------------------------------------ carbon
def stock(polygons, raster: Path | str | None = None, *, catalog: Catalog | Path | str | None = None,
          units: str | None = None, id_field: str | None = None, layer: str | None = None,
          crs: str | int | None = None, ensemble: Path | str | None = None, workers: int | None = None,
          compute: str = "local", scheduler: str | None = None, engine: str = "pyogrio") -> gpd.GeoDataFrame:
    """Forest carbon stock in each polygon, from a carbon density raster (exact pixel coverage).

    ``polygons`` is a GeoDataFrame or a file (anything :func:`read_sites` reads); ``raster``
    defaults to the catalog's ``forest_carbon`` layer (then its declared units are used).
    Returns a GeoDataFrame in input order with ``id``, ``forest_ha`` (ha), ``stock_tC`` (t C),
    ``stock_tCO2`` (t CO2 = t C × 44/12), ``mean_tC_ha`` (t C/ha of forest), ``pixels``,
    ``covered_ha``, ``area_ha`` (geodesic, ha), ``coverage_diff``, ``flags``, ``county``
    (from the catalog's admin layer, when it has one), and with ``ensemble`` the P2.5/P50/P97.5
    of the stock (t C). Totals: :func:`stock_totals`.
    """
    from zoning.carbon.density import stock as stock_here
    from zoning.geo.locate import locate_sites

    cat = None
    if raster is None or catalog is not None:
        cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if raster is None:
        spec = cat.one("forest_carbon")
        raster, units = spec.path, units or spec.units
    frame = polygons if isinstance(polygons, gpd.GeoDataFrame) and polygons.crs is not None and crs is None \
        else read_sites(polygons, crs=crs, engine=engine, layer=layer)
    if id_field and id_field not in frame.columns:
        raise ZoningError(f"字段 {id_field!r} 不在输入中", f"field {id_field!r} is not in the input; fields: "
                          f"{', '.join(c for c in frame.columns if c not in ('geometry', 'warnings'))}")
    if compute == "dask":
        if ensemble is not None:
            raise ZoningError("集合栅格暂不支持 Dask 引擎", "ensemble is not supported with compute='dask' yet")
        from zoning.engines.dask_engine import stock_dask

        result = stock_dask(frame, raster, units=units, id_field=id_field, scheduler=scheduler)
    elif compute == "local":
        result = stock_here(frame, raster, units=units, id_field=id_field, workers=workers, ensemble=ensemble)
    else:
        raise ZoningError(f"未知计算引擎 {compute!r}", f"unknown compute engine {compute!r}; use local or dask")
    admin = None
    if cat is not None and cat.by_role("admin"):
        admin = load_layer(cat.one("admin"), engine=engine)
    result["county"] = locate_sites(frame.reset_index(drop=True), admin)["county"].to_numpy()
    for column in frame.columns:  # keep the input's own attributes beside the stock
        if column not in result.columns and column not in ("geometry", "warnings", "crs_in", "error"):
            result[column] = frame[column].to_numpy()
    return result


def stock_totals(stocks: pd.DataFrame, by: str = "county") -> pd.DataFrame:
    """Totals of :func:`stock` output by a column (default county), with a 合计 total row:
    ``features``, ``forest_ha`` (ha), ``stock_tC`` (t C), ``stock_tCO2`` (t CO2), ``area_ha``
    (ha), ``mean_tC_ha`` (t C/ha of forest)."""
    from zoning.export.carbon import stock_totals as totals

    if by not in stocks.columns:
        raise ZoningError(f"字段 {by!r} 不在碳储量表中", f"column {by!r} is not in the stock table")
    return totals(stocks, by)


def program(*, layers: LayerSet | None = None, catalog: Catalog | Path | str | None = None,
            scenarios: Sequence[float] = (2.77, 3.86), target_ha: float = 30_000.0,
            schedule: Path | str | None = None, quota: Path | str | None = None, min_stand_ha: float = 5.0,
            buyback_ha: float = 16_700.0, harvest_rotation: float | None = None,
            harvest_stock: float | None = None, draws: int = 10_000, seed: int = 20211025,
            plateau_years: float | None = None, saturation_years: float | None = None,
            horizon: int = 2060) -> ProgramResult:
    """Sink gain of the 30,000 ha forest-quality programme and the 16,700 ha buy-back.

    ``scenarios`` are target sink rates r_target (t CO2/ha/yr; the first is primary) against
    r_base 1.97; ``schedule`` a CSV of year,area_ha (default 6,000 ha/yr 2021-2025);
    ``quota`` a CSV of county,quota_ha. Returns a :class:`ProgramResult`: its tables are
    DataFrames (``annual_table()`` in t CO2, ``county_table()``, ``parameter_table()``),
    ``to_dict()`` the JSON; write the files with ``zoning.export.carbon.write_program_outputs``.
    """
    from zoning.carbon.run import run_program

    return run_program(_layers(layers, catalog), scenarios=tuple(scenarios), target_ha=target_ha,
                       schedule_path=schedule, quota_path=quota, min_stand_ha=min_stand_ha, buyback_ha=buyback_ha,
                       rotation_years=harvest_rotation, harvest_stock_tC_ha=harvest_stock, draws=draws, seed=seed,
                       plateau_years=plateau_years, saturation_years=saturation_years, horizon=horizon)


# ------------------------------------------------------------------------------ exports
def export_county(out_dir: Path | str, *, county: str = "all", layers: LayerSet | None = None,
                  catalog: Catalog | Path | str | None = None, roles: str = "all", formats: Sequence[str] = ("shp",),
                  encoding: str = "utf-8", crs: str | int = "4490", results_dir: Path | str | None = None,
                  overwrite: bool = False) -> list[dict]:
    """Per-county bundles of the layers (and screening results) for ArcGIS/QGIS.

    ``county`` is a name (延平区), a code (350702) or "all"; ``formats`` any of shp, gpkg,
    geojson, kml, csv; shapefiles are zipped, with .cpg (``encoding`` utf-8 or gbk) and .prj.
    Each county folder is written whole. Returns one manifest per county (files, features,
    CRS, checksums).
    """
    from zoning.export.county import export_county as export_here

    return export_here(_layers(layers, catalog), out_dir, county=county, roles=roles, formats=tuple(formats),
                       encoding=encoding, crs=crs, results_dir=results_dir, overwrite=overwrite)


def write_screen_outputs(results: ScreenResults | Sequence[ScreenResult], out_dir: Path | str, *,
                         layers: LayerSet | None = None, lang: str = "zh", reports: bool | None = None,
                         overwrite: bool = False, progress: Progress | None = None) -> dict[str, Path]:
    """Write result.json / results/*.json, summary.csv, sites.gpkg, map.html and (default for
    one site) report.html + report.docx into ``out_dir``, whole. Returns the files written."""
    from zoning.export.screening import write_screen_outputs as write_here

    layer_set = layers or getattr(results, "layers", None)
    if layer_set is None:
        raise ZoningError("需要图层（layers=）", "pass layers= (the LayerSet the results were screened against)")
    return write_here(list(results), out_dir, layers=layer_set, lang=lang,
                      reports=len(results) == 1 if reports is None else reports, overwrite=overwrite,
                      progress=progress)


__all__ = ["ScreenResults", "check_layers", "explore", "export_county", "load_catalog", "load_layer", "load_layers",
           "program", "read_results", "read_sites", "screen", "stock", "stock_totals", "write_screen_outputs"]
