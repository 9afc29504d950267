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
import numpy as np
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
    return check_catalog(cat, engine=engine) + _check_clauses(cat)


def _check_clauses(cat: Catalog) -> list:
    """The catalog's clause library (issue 12): readable, and every unit clause names a known unit."""
    from zoning.errors import ZoningError
    from zoning.io.validate import Finding
    from zoning.screening.clauses import load_clause_library

    if cat.clauses is None:
        return []
    name = cat.clauses.name
    try:
        library = load_clause_library(cat.clauses)
    except ZoningError as exc:
        return [Finding(name, "clauses", "clause library", False, exc.one_line())]
    out = [Finding(name, "clauses", "clause library", True, f"{len(library.clauses)} clauses, version {library.version}")]
    units = cat.by_role("control_unit")
    if units and units[0].path.exists():
        try:
            codes = set(load_layer(units[0])["code"].astype(str).str.replace(" ", ""))
        except ZoningError:
            return out
        unknown = sorted({c["unit_code"] for c in library.clauses if c["unit_code"] and c["unit_code"] not in codes})
        out.append(Finding(name, "clauses", "unit codes", not unknown,
                           f"unit clauses name unknown units: {', '.join(unknown[:5])}" if unknown else
                           "every unit clause names a control unit"))
    return out


def import_layers(src: Path | str, out_dir: Path | str, *, mapping=None, clause_list: Path | str | None = None,
                  rules: Path | str | None = None, overwrite: bool = False,
                  progress: Callable[[str], None] | None = None, check: bool = True):
    """Import official 三线一单 results (a folder, .zip, file geodatabase or GeoPackage) into
    ``out_dir`` as a self-contained layer set: every layer as GPKG in EPSG:4490 with its original
    CRS recorded, ``catalog.yaml`` with the field mapping used, ``clauses.yaml`` (the units' four
    access-list texts and the general requirements of ``clause_list``, an .xlsx or .csv) and a
    copy of the rule pack (default: the sample catalog's). ``mapping``: a mapping file (or dict)
    placing layers and fields the conventions do not recognise.

    Returns an :class:`zoning.io.official.ImportReport`: ``layers`` (source -> role, fields),
    ``guessed``, ``unplaced``, ``notes``, and ``findings`` of ``layers check`` on the result
    (``check=False`` skips it).
    """
    from zoning.io.catalog import default_catalog_path
    from zoning.io.official import import_delivery
    from zoning.screening.clauses import split_clauses

    default_rules = None
    if rules is None:
        try:
            default_rules = load_catalog(default_catalog_path()).rule_pack
        except ZoningError:
            default_rules = None
    report = import_delivery(src, out_dir, mapping=mapping, clause_list=clause_list, rules=rules,
                             overwrite=overwrite, split=split_clauses, default_rules=default_rules, progress=progress)
    if check:
        report.findings = check_layers(report.catalog)
    return report


# ------------------------------------------------------------------------------ screening
def _text(value) -> str:
    """Cell text: missing values (None, NaN, pandas NA) are empty, never "nan"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


class ScreenResults(Sequence):
    """The results of one :func:`screen` call: a sequence of :class:`ScreenResult`, in input order.

    ``to_geodataframe()`` gives one row per site, ``to_json()`` the JSON of every result,
    ``explore()`` a ``folium.Map``; in Jupyter the object shows as a compact table.
    """

    def __init__(self, results: Sequence[ScreenResult], layers: LayerSet | None = None,
                 source: pd.DataFrame | None = None):
        self._results = list(results)
        #: the layer set the sites were screened against (used by explore())
        self.layers = layers
        #: the site file's own columns that are no screening attribute (项目编号, 建设单位 …), a row
        #: per result in order; summaries (to_geodataframe, summary.csv, the GeoPackage) carry them
        self.source = source.reset_index(drop=True) if source is not None and len(source) == len(self._results) \
            and len(source.columns) else None

    @overload
    def __getitem__(self, index: int) -> ScreenResult: ...

    @overload
    def __getitem__(self, index: slice) -> ScreenResults: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ScreenResults(self._results[index], self.layers,
                                 None if self.source is None else self.source.iloc[index])
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
        ``area_m2`` (ellipsoidal area of the site, m²), ``area_gk_m2`` (planar area in the site's
        3-degree GK zone, the one official results use, m²), ``length_m`` (geodesic length of a line
        site, m), ``<role>_m2`` (overlap with red lines, protected areas, parks, no-burn zones,
        m², as measured in the site's GK zone), ``warnings`` (count), ``error``; then the site
        file's own columns that are no screening attribute (``source``; a name already taken gets
        ``_原表``); geometry.
        """
        from zoning.render.summary import main_unit, role_overlap_m2, with_source

        rows = []
        for r in self._results:
            unit = main_unit(r)
            row: dict[str, Any] = {
                "site_id": r.site_id, "name": r.site.name or r.inputs.get("name"), "verdict": r.verdict,
                "unit_code": unit.id if unit else None, "unit_name": unit.name if unit else None,
                "unit_class": unit.cls if unit else None, "county": r.site.county, "county_code": r.site.county_code,
                "rules": ", ".join(x.id for x in r.rules if x.outcome != "compliant"),
                "area_m2": r.site.area_m2, "area_gk_m2": r.site.area_gk_m2, "length_m": r.site.length_m}
            for role in AREA_ROLES:
                row[f"{role}_m2"] = role_overlap_m2(r, role)
            row["warnings"] = len(r.warnings)
            row["error"] = r.error
            row["geometry"] = shapely.from_wkt(r.site.wkt) if r.site.wkt else None
            rows.append(row)
        columns = ["site_id", "name", "verdict", "unit_code", "unit_name", "unit_class", "county", "county_code",
                   "rules", "area_m2", "area_gk_m2", "length_m", *(f"{role}_m2" for role in AREA_ROLES), "warnings",
                   "error", "geometry"]
        frame = with_source(pd.DataFrame(rows, columns=columns[:-1]), self.source)
        frame["geometry"] = [row["geometry"] for row in rows]
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=4490)

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
            verdict, county, code, cls, rules, error = (_text(v) for v in (
                row.verdict, row.county, row.unit_code, row.unit_class, row.rules, row.error))
            cells = (row.site_id, labels.get(verdict, "—") if verdict else "—", county or "—",
                     f"{code} {cls}".strip() if code else "—", rules or "—", error)
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
           engine: str = "pyogrio", base_year: int | None = None, compute: str = "auto",
           scheduler: str | None = None, workers: int | None = None,
           progress: Progress | None = None, fields=None) -> ScreenResults:
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
    compute : ``"local"`` (this process), ``"processes"`` (a process pool over ``workers``
        cores, default all), ``"auto"`` (the pool from 2,000 sites on when there is more than
        one core, else local) or ``"dask"`` (a LocalCluster, or the cluster at ``scheduler``);
        all give the same results.
    progress : called as ``progress(done, total)`` after each site.
    fields : which column holds which attribute (``{"energy_tce": "能耗"}``, ``["energy_tce=能耗"]``
        or a YAML/JSON mapping file), beyond what the headers say; see :func:`read_sites`.

    Returns
    -------
    ScreenResults, one :class:`ScreenResult` per site in input order. A site that cannot be
    read or screened gives a result with ``error`` set and no verdict; the others are screened.
    """
    from zoning.screening.pipeline import prepare_sites, resolve_rule_pack
    from zoning.screening.pipeline import screen as screen_here

    layer_set = _layers(layers, catalog, engine)
    pack = resolve_rule_pack(rule_pack, layer_set.catalog)
    frame = prepare_sites(sites, crs=crs, engine=engine, layer=layer, fields=fields)
    if compute == "dask":
        from zoning.engines.dask_engine import screen_dask
        from zoning.screening import attributes as attrs_mod

        overrides = attrs_mod.parse_mapping(attributes, given=True)
        results = screen_dask(frame, layers=layer_set, rule_pack=pack, attributes=overrides,
                              buffers_m=tuple(buffers_m), base_year=base_year, scheduler=scheduler)
        if progress:
            progress(len(results), len(results))
    elif compute in ("local", "auto", "processes"):
        from zoning.engines.pool import AUTO_MIN_SITES, default_workers, screen_processes

        n_workers = workers or default_workers()
        pooled = compute == "processes" or (compute == "auto" and n_workers > 1 and len(frame) >= AUTO_MIN_SITES)
        if pooled:
            from zoning.screening import attributes as attrs_mod

            attrs_mod.parse_mapping(attributes, given=True)  # a bad attribute is refused before any worker starts
            results = screen_processes(frame, layers=layer_set, rule_pack=pack, attributes=attributes,
                                       buffers_m=tuple(buffers_m), base_year=base_year, workers=n_workers,
                                       progress=progress)
        else:
            from zoning.engines.pool import collector_paused

            with collector_paused():  # screening makes no reference cycles: the collector's passes are waste
                results = screen_here(frame, layers=layer_set, rule_pack=pack, attributes=attributes,
                                      buffers_m=buffers_m, base_year=base_year, progress=progress)
    else:
        raise ZoningError(f"未知计算引擎 {compute!r}", f"unknown compute engine {compute!r}; use auto, local, "
                          f"processes or dask")
    from zoning.io.tables import source_columns

    return ScreenResults(results, layer_set, pd.DataFrame(frame[source_columns(frame)]))


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
          compute: str = "local", scheduler: str | None = None, engine: str = "pyogrio",
          raster_before: Path | str | None = None, raster_after: Path | str | None = None,
          year_before: int | None = None, year_after: int | None = None) -> gpd.GeoDataFrame:
    """Forest carbon stock in each polygon (stand, parcel), from a carbon density raster (exact pixel coverage).

    ``polygons`` is a GeoDataFrame or a file (GeoPackage/Shapefile/GeoJSON ``layer``; tables and
    anything else :func:`read_sites` reads). The result keeps the input's CRS (``crs`` declares
    it when the input has none), its row order and every attribute; ``id`` holds the ``id_field``
    values as given (default: a stand/parcel id column such as 小班号, else "1".."n").
    ``raster`` defaults to the catalog's ``forest_carbon`` layer (then its declared units are used).

    Columns: ``id``, ``forest_ha`` (ha), ``stock_tC`` (t C), ``stock_tCO2`` (t CO2 = t C × 44/12),
    ``mean_tC_ha`` (t C/ha of forest), ``pixels``, ``covered_ha`` (ha inside the raster),
    ``valid_ha`` (ha with data), ``coverage_share`` (0-1), ``area_ha`` (ellipsoidal, ha),
    ``coverage_diff``, ``flags`` (``outside_raster``, ``partly_outside_raster``, ``nodata_only`` …),
    ``county`` (from the catalog's admin layer, when it has one), the input's attributes, and
    with ``ensemble`` the P2.5/P50/P97.5 of the stock (t C). A polygon without raster data has NA
    (NaN) stock, not 0. With ``raster_before`` and ``raster_after`` (two inventory years; years
    from ``year_before``/``year_after`` or the rasters' tags) it adds the stock difference per
    polygon: ``stock_before_tC``, ``stock_after_tC``, ``change_tC``, ``change_tCO2`` and
    ``change_tCO2_per_yr`` (t CO2/yr), NA where either raster does not cover the whole polygon.
    Totals: :func:`stock_totals`. Input warnings (CRS overrides …) are in ``result.attrs["warnings"]``.
    """
    from zoning.carbon.density import read_footprints, stock_change
    from zoning.carbon.density import stock as stock_here
    from zoning.geo.locate import locate_sites

    if (raster_before is None) != (raster_after is None):
        raise ZoningError("存量变化需要同时给出 --raster-before 和 --raster-after",
                          "a stock change needs both --raster-before and --raster-after")
    cat = None
    if (raster is None and raster_after is None) or catalog is not None:
        cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    implicit = cat is None  # own raster and no catalog named: the default catalog, if any, gives the counties
    if implicit:
        try:
            cat = load_catalog(None)
        except ZoningError:
            cat = None
    if raster is None and raster_after is not None:
        raster = raster_after
    if raster is None:
        spec = cat.one("forest_carbon")
        raster, units = spec.path, units or spec.units
    frame, notes = read_footprints(polygons, crs=crs, layer=layer, engine=engine)
    if id_field and id_field not in frame.columns:
        raise ZoningError(f"字段 {id_field!r} 不在输入中", f"field {id_field!r} is not in the input; fields: "
                          f"{', '.join(str(c) for c in frame.columns if c not in ('geometry', 'warnings'))}")
    from zoning.carbon.density import default_id_field

    id_col = id_field or default_id_field(frame)
    if id_col and frame[id_col].dropna().duplicated().any():  # measured all the same; flagged duplicate_id
        dup = frame.loc[frame[id_col].duplicated() & frame[id_col].notna(), id_col].astype(str).unique().tolist()[:5]
        notes.append(f"编号字段 {id_col} 有重复值 {dup}（各自计算，标记 duplicate_id）/ id field {id_col} has "
                     f"duplicate values {dup} (each measured, flagged duplicate_id)")
    if compute == "dask":
        if ensemble is not None:
            raise ZoningError("集合栅格暂不支持 Dask 引擎", "ensemble is not supported with compute='dask' yet")
        from zoning.engines.dask_engine import stock_dask

        result = stock_dask(frame, raster, units=units, id_field=id_field, scheduler=scheduler)
    elif compute in ("local", "auto", "processes"):  # the zonal kernel runs its strips in a process pool itself
        result = stock_here(frame, raster, units=units, id_field=id_field, workers=workers, ensemble=ensemble)
    else:
        raise ZoningError(f"未知计算引擎 {compute!r}", f"unknown compute engine {compute!r}; use local or dask")
    admin = None
    if cat is not None and cat.by_role("admin"):
        try:
            admin = load_layer(cat.one("admin"), engine=engine)
        except ZoningError:
            if not implicit:
                raise
            admin = None  # the implicit default catalog's admin layer cannot be read: said below
    if admin is None:
        notes.append("没有行政区图层（图层目录不可用或无 admin 图层），县区列为空 / no admin layer (no catalog "
                     "or no admin layer in it): the county column is empty")
    located = locate_sites(frame[[frame.geometry.name]].set_geometry(frame.geometry.name), admin)
    county = located["county"].to_numpy()
    if "county" in result.columns:  # the input's own county column stays as given
        result = result.rename(columns={"county": "county_input"})
    result.insert(result.columns.get_loc("flags") + 1, "county", county)
    far = _outside_china(frame) & ~result["flags"].fillna("").str.contains("bad_coordinates").to_numpy()
    if far.any():  # a footprint outside China is almost always a CRS mistake: flagged, and the run is partial
        result["flags"] = [f"{f};outside_china" if f and o else ("outside_china" if o else f)
                           for f, o in zip(result["flags"], far)]
        ids = result.loc[far, "id"].astype(str).tolist()
        notes.append(f"{len(ids)} 个要素位于中国范围以外（坐标系可能有误）：{', '.join(ids[:5])} / {len(ids)} feature(s) "
                     f"lie outside China (the CRS is probably wrong): {', '.join(ids[:5])}")
    if raster_after is not None:
        change, meta = stock_change(frame, raster_before, raster_after, units=units, year_before=year_before,
                                    year_after=year_after, workers=workers)
        at = result.columns.get_loc("county") + 1
        for i, column in enumerate(change.columns):
            result.insert(at + i, column, change[column].to_numpy())
        result.attrs["stock_change"] = meta
    result.attrs["warnings"] = notes
    return result


def _outside_china(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Rows whose footprint lies (partly) outside China's lon/lat box (missing geometries: False)."""
    import warnings

    from zoning.geo.crs import CHINA_LAT, CHINA_LON

    geoms = frame.geometry
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        lonlat = geoms if geoms.crs is None or geoms.crs.equals(4490) else geoms.to_crs(4490)
    b = lonlat.bounds
    present = ~(geoms.isna() | geoms.is_empty).to_numpy() & np.isfinite(b.to_numpy()).all(axis=1)
    inside = ((b["minx"] >= CHINA_LON[0]) & (b["maxx"] <= CHINA_LON[1]) & (b["miny"] >= CHINA_LAT[0])
              & (b["maxy"] <= CHINA_LAT[1])).to_numpy()
    return present & ~inside


def stock_totals(stocks: pd.DataFrame, by: str = "county") -> pd.DataFrame:
    """Totals of :func:`stock` output by a column (default county), with a 合计 total row:
    ``features``, ``features_measured``, ``features_na`` (no raster data: NA stock),
    ``features_partial``, ``area_ha`` (ha), ``covered_share`` (share of the area with raster data,
    0-1), ``forest_ha`` (ha), ``stock_tC`` (t C), ``stock_tCO2`` (t CO2), ``mean_tC_ha`` (t C/ha
    of forest). Stocks sum the measured parts only: a covered share below 1 means incomplete."""
    from zoning.export.carbon import stock_totals as totals

    if by not in stocks.columns:
        raise ZoningError(f"字段 {by!r} 不在碳储量表中", f"column {by!r} is not in the stock table")
    return totals(stocks, by)


def program(*, layers: LayerSet | None = None, catalog: Catalog | Path | str | None = None,
            scenarios: Sequence[float] = (2.77, 3.86), target_ha: float = 30_000.0,
            schedule: Path | str | None = None, quota: Path | str | None = None, min_stand_ha: float = 5.0,
            buyback_ha: float = 16_700.0, harvest_rotation: float | None = None,
            harvest_stock: float | None = None, harvest_intensity: float = 1.0, draws: int = 10_000,
            seed: int = 20211025, plateau_years: float | None = None, saturation_years: float | None = None,
            horizon: int = 2060, stands=None, stands_layer: str | None = None, id_field: str | None = None,
            stands_crs: str | int | None = None, r_base: float = 1.97, growth: str = "plan",
            growth_curves: Path | str | None = None, leakage_quality: float = 0.0, leakage_buyback: float = 0.40,
            buffer: float = 0.10, conservativeness: str | float | None = "auto", rate_u95: float = 0.10,
            area_u95: float = 0.05, raster_before: Path | str | None = None, raster_after: Path | str | None = None,
            year_before: int | None = None, year_after: int | None = None,
            engine: str = "pyogrio") -> ProgramResult:
    """Carbon accounting of the forest-quality programme (森林质量精准提升) and the buy-back (商品林赎买).

    Where: ``stands`` (a file or GeoDataFrame of 小班 with programme, forest type, age, treatment
    year, county; any CRS; ``id_field`` names them), else the catalog's ``program`` layer, else
    stands chosen by rule for ``target_ha`` (ha; ``quota`` CSV county,quota_ha) and ``buyback_ha``.
    ``schedule`` is a CSV year,area_ha (default 6,000 ha/yr 2021-2025; with stands, its yearly shares).

    Rates in t CO2/ha/yr: ``scenarios`` are target rates r_target (the first is primary) against
    ``r_base`` (1.97); ``growth="curve"`` makes them follow Chapman-Richards curves per forest
    type and age (``growth_curves`` CSV replaces the defaults). Buy-back baseline:
    ``harvest_rotation`` (yr), ``harvest_stock`` (t C/ha), ``harvest_intensity`` (share).
    Deductions (shares 0-1): ``leakage_quality``, ``leakage_buyback``, ``buffer`` (permanence),
    ``conservativeness`` ("auto": CCER-style DR from the uncertainty; "none"; or a share).
    Uncertainty: ``rate_u95``/``area_u95`` are 95 % CI half-widths as shares (IPCC 2006 Vol. 1
    Ch. 3); Approach 2 uses ``draws`` Monte Carlo draws with ``seed``. Two inventory rasters
    (``raster_before``/``raster_after``, years ``year_before``/``year_after``) add the
    stock-difference reconciliation. Stands on the catalog's ``registered_carbon`` layer are
    excluded from creditable removals. ``horizon`` is the last year.

    Returns a :class:`ProgramResult`: ``to_dict()`` the (strict-JSON-safe) program.json content,
    ``annual_table()`` (t CO2 per year by scenario and deduction), ``county_table()``,
    ``type_table()``, ``parameter_table()``; write the files with
    ``zoning.export.carbon.write_program_outputs``.
    """
    from zoning.carbon.run import run_program

    return run_program(_layers(layers, catalog, engine), scenarios=tuple(scenarios), target_ha=target_ha,
                       schedule_path=schedule, quota_path=quota, min_stand_ha=min_stand_ha, buyback_ha=buyback_ha,
                       rotation_years=harvest_rotation, harvest_stock_tC_ha=harvest_stock, draws=draws, seed=seed,
                       plateau_years=plateau_years, saturation_years=saturation_years, horizon=horizon,
                       stands=stands, id_field=id_field, stands_layer=stands_layer, stands_crs=stands_crs,
                       growth=growth, growth_curves=growth_curves, r_base=r_base, rate_u95=rate_u95,
                       area_u95=area_u95, leakage_quality=leakage_quality, leakage_buyback=leakage_buyback,
                       buffer=buffer, conservativeness=conservativeness, harvest_intensity=harvest_intensity,
                       raster_before=raster_before, raster_after=raster_after, year_before=year_before,
                       year_after=year_after, engine=engine)


# ------------------------------------------------------------------------------ exports
def export_county(out_dir: Path | str, *, county: str = "all", layers: LayerSet | None = None,
                  catalog: Catalog | Path | str | None = None, roles: str = "all", formats: Sequence[str] = ("shp",),
                  encoding: str = "utf-8", crs: str | int = "auto", results_dir: Path | str | None = None,
                  overwrite: bool = False) -> list[dict]:
    """Per-county bundles of the layers (and screening results) for ArcGIS/QGIS.

    ``county`` is a name (延平区), a code (350702) or "all"; ``formats`` any of shp, gpkg,
    geojson, kml, csv; shapefiles are zipped, with .cpg (``encoding`` utf-8 or gbk) and .prj.
    ``crs="auto"`` puts each county in its own 3-degree Gauss-Kruger zone (EPSG:4548 west of
    118°30'E, 4549 east, by its centroid); a county outside a chosen zone is warned about in the
    manifest's notes; AREA_HA is planar only where the CRS keeps areas within 0.1 %, else
    ellipsoidal (manifest ``area_ha`` says which).
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
                      progress=progress, source=getattr(results, "source", None))


__all__ = ["ScreenResults", "check_layers", "explore", "export_county", "load_catalog", "load_layer", "load_layers",
           "program", "read_results", "read_sites", "screen", "stock", "stock_totals", "write_screen_outputs"]
