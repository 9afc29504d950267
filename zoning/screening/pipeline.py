"""Screening: sites x layers x rules -> one ScreenResult per site."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.screening import attributes as attrs_mod
from zoning.io.catalog import COVERAGE_DEFAULT, Catalog, load_catalog
from zoning.errors import ZoningError
from zoning.io.layerset import NO_LAYER_DETAIL, LayerSet, coverage_keys, load_layerset
from zoning.geo.locate import locate_sites, site_centroids
from zoning.geo.crs import GEOD, STORAGE_EPSG, project
from zoning.geo.measure import (DISTANCE_OUTLINE_DEG, corner_counts, distances_to_outline_m, ellipsoidal_areas,
                                geodesic_area, geodesic_length)
from zoning.screening.overlay import DEFAULT_BUFFERS_M, NEAREST_TARGETS, nearest_exact, overlay_sites
from zoning.screening.clauses import draft_opinion, load_clause_library, site_clauses
from zoning.screening.result import LayerRecord, RuleRecord, ScreenResult, SiteInfo
from zoning.screening.rules import (Facts, RulePack, apply_rules, load_rule_pack, overall_verdict, possible_verdicts,
                                    undecided_notes)
from zoning.io.sites import crs_suggestions, read_sites, suggestion_text
from zoning.io.tables import corner_rows, corner_tables
from zoning.vocabulary import LAYER_STATUS_ZH, OUTCOME_ZH, SEVERITY


def _text_or_none(value):
    """Strings stay; None/NaN (how pandas returns a missing object value) become None."""
    return value if isinstance(value, str) and value else None


def _clean(value):
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


#: at most this many unusable feature ids are carried in each result's layer record
MAX_BAD_IDS = 100
#: a site with less than this share outside a coverage area counts as inside (rounding noise)
OUTSIDE_TOLERANCE = 1e-6


@dataclass
class Cover:
    """How a coverage area holds one site, measured on the stored (EPSG:4490) geometries."""

    status: str  # inside | partial | outside | unknown
    outside_share: float = 0.0  # of the site's area (polygons), length (lines) or points
    distance_m: float | None = None  # outside: geodesic distance (m) from the site to the area


def _measure(geom) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    kind = geom.geom_type
    if kind.endswith("Polygon") or kind == "GeometryCollection":
        polys = [p for p in shapely.get_parts(geom) if p.geom_type.endswith("Polygon")]
        return float(sum(geodesic_area(p) for p in polys))
    if kind.endswith("LineString"):
        return float(geodesic_length(geom))
    return float(len(shapely.get_parts(geom)))


def _outside_share(geom, area) -> float:
    """Share (0-1) of ``geom`` outside ``area``, in the measure of its kind (m², m, points)."""
    whole = _measure(geom)
    if whole <= 0:
        return 0.0 if shapely.covers(area, geom) else 1.0
    if geom.geom_type.endswith("Point"):
        return float(np.mean(~shapely.covers(area, shapely.get_parts(geom))))
    inside = shapely.intersection(geom, area)
    if not geom.geom_type.endswith("Polygon"):
        inside = shapely.line_merge(shapely.union_all([p for p in shapely.get_parts(inside)
                                                       if p.geom_type.endswith("LineString")])) \
            if not inside.is_empty else inside
    return float(min(1.0, max(0.0, 1.0 - _measure(inside) / whole)))


def site_coverage(geoms, ok, layers: LayerSet) -> list[dict[str, Cover]]:
    """For every site and coverage area of the layer set: inside, partly or wholly outside.

    Vectorised per area (one prepared ``covers``/``intersects`` over all sites); shares and
    distances are measured geodesically only for the few sites not inside.
    """
    out: list[dict[str, Cover]] = [{} for _ in range(len(geoms))]
    idx = np.flatnonzero(ok)
    g = np.asarray(geoms, dtype=object)[idx]
    for key, area in layers.coverages.items():
        if area is None or not len(idx):
            for i in idx:
                out[i][key] = Cover("unknown")
            continue
        shapely.prepare(area)
        inside = shapely.covers(area, g)
        touching = shapely.intersects(area, g)
        far = np.flatnonzero(~touching)
        dist = dict(zip(far, distances_to_outline_m(g[far], area.simplify(DISTANCE_OUTLINE_DEG)))) if len(far) else {}
        for k, i in enumerate(idx):
            if inside[k]:
                out[i][key] = Cover("inside")
            elif touching[k]:
                share = _outside_share(g[k], area)
                out[i][key] = (Cover("inside") if share < OUTSIDE_TOLERANCE else
                               Cover("outside", 1.0, 0.0) if share > 1 - OUTSIDE_TOLERANCE else  # touches only
                               Cover("partial", share))
            else:
                out[i][key] = Cover("outside", 1.0, float(dist[k]))
    return out


def _reach(info, cover: dict | None) -> Cover | None:
    """How the coverage of a role (the union of its entries' areas) holds the site; None if unknown."""
    if not cover:
        return None
    found = [cover[k] for k in coverage_keys(info) if k in cover and cover[k].status != "unknown"]
    if not found:
        return None
    for status in ("inside", "partial", "outside"):
        same = [c for c in found if c.status == status]
        if same:
            return min(same, key=lambda c: c.outside_share)
    return None


def _rule_roles(cond, out: set | None = None) -> set[str]:
    """The layer roles a rule condition looks at (county conditions look at the admin layer)."""
    out = set() if out is None else out
    if not isinstance(cond, dict) or len(cond) != 1:
        return out
    (op, arg), = cond.items()
    if op in ("all", "any"):
        for sub in arg:
            _rule_roles(sub, out)
    elif op == "not":
        _rule_roles(arg, out)
    elif op in ("hit", "within", "near"):
        out.add(arg if isinstance(arg, str) else arg.get("role"))
    elif op == "county":
        out.add("admin")
    return out


def _headline(verdict: str, fired, status: dict[str, str], reach: Cover | None, hint: tuple[str, str],
              names: dict[str, str]) -> tuple[str, list[str]]:
    """The verdict a reviewer can sign, and why it differs from the rules' own (reasons first).

    - A site wholly outside the layers' coverage gets no verdict: ``needs_info``.
    - A site partly outside is never compliant or conditional: what lies outside is unknown.
    - A rule left undecided by a layer that failed, lacks features or does not cover the site,
      and that could end worse than the verdict, makes the verdict ``needs_info``.
    """
    reasons: list[str] = []
    hint_zh = f"；坐标系可能有误：{hint[0]}" if hint[0] else ""
    hint_en = f"; the CRS may be wrong: {hint[1]}" if hint[1] else ""
    if reach is not None and reach.status == "outside":
        reasons.append(f"站点位于图层覆盖范围以外，无法给出结论{hint_zh} / the site lies outside the layers' coverage: "
                       f"no verdict is possible{hint_en}")
        verdict = "needs_info"
    elif reach is not None and reach.status == "partial":
        if verdict != "prohibited":
            verdict = "needs_info"
        zh_share, en_share = _share_words(reach.outside_share)
        reasons.append(f"站点{zh_share}超出图层覆盖范围，超出部分无法判定{hint_zh} / {en_share} of the site lies "
                       f"outside the layers' coverage; that part cannot be screened{hint_en}")
    # a prohibition that fired is final (nothing is more severe): no undecided rule can change it
    by_rules = verdict if reach is None or reach.status == "inside" or verdict == "prohibited" else "compliant"
    site_outside = reach is not None and reach.status in ("outside", "partial")
    blocked: dict[str, list] = {}  # role -> the undecided rules it blocks that could end worse
    for o in fired:
        if o.outcome != "needs_info" or SEVERITY[o.rule.outcome] <= SEVERITY[by_rules]:
            continue
        for role in sorted(_rule_roles(o.rule.scope) | _rule_roles(o.rule.when)):
            st = status.get(role, "failed")
            if st in ("ok", "gap") or (site_outside and st in ("outside", "partly_outside")):
                continue  # decided, a coverage gap of the units, or said by the coverage reason above
            blocked.setdefault(role, []).append(o.rule)
    for role, rules in blocked.items():
        st = status.get(role, "failed")
        worst = max((r.outcome for r in rules), key=lambda x: SEVERITY[x])
        ids = ", ".join(r.id for r in rules)
        reasons.append(f"图层 {names.get(role, role)}（{role}）{LAYER_STATUS_ZH.get(st, st)}，规则 {ids} 无法判定，"
                       f"最严可能为“{OUTCOME_ZH[worst]}” / layer {role} is {st}: rule(s) {ids} could not be decided "
                       f"and could end {worst}")
        verdict = "needs_info"
    return verdict, reasons


def default_rule_pack(catalog: Catalog) -> RulePack:
    if catalog.rule_pack is None:
        raise ZoningError("图层目录未指定规则包（rules:），请用 --rules 指定",
                          "the catalog names no rule pack ('rules:'); pass --rules")
    return load_rule_pack(catalog.rule_pack)


def prepare_sites(sites, *, crs=None, engine: str = "pyogrio", layer: str | None = None,
                  fields=None) -> gpd.GeoDataFrame:
    """Sites as screening takes them: read (errors flagged per row, never raised for one bad site)
    and with an ``error`` column that holds a message or None."""
    if not (isinstance(sites, gpd.GeoDataFrame) and {"site_id", "crs_in", "warnings"} <= set(sites.columns)):
        sites = read_sites(sites, crs=crs, engine=engine, layer=layer, on_error="flag", fields=fields)
    if "error" not in sites.columns:
        sites = sites.assign(error=None)
    # after a round trip through pandas/dask a missing error may come back as NaN
    return sites.assign(error=pd.Series([e if isinstance(e, str) and e else None for e in sites["error"]],
                                        index=sites.index, dtype=object))


def resolve_rule_pack(rule_pack: RulePack | Path | str | None, catalog: Catalog) -> RulePack:
    """A rule pack object from an object, a path, or (None) the one the catalog names."""
    if isinstance(rule_pack, RulePack):
        return rule_pack
    return load_rule_pack(rule_pack) if rule_pack is not None else default_rule_pack(catalog)


def screen(sites, *, catalog: Catalog | Path | str | None = None, layers: LayerSet | None = None,
           rule_pack: RulePack | Path | str | None = None, attributes: Mapping[str, Any] | None = None,
           buffers_m=DEFAULT_BUFFERS_M, crs=None, engine: str = "pyogrio", base_year: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> list[ScreenResult]:
    """Screen project sites against the zoning layers and the access-list rules, in this process.

    Parameters
    ----------
    sites : path, coordinate string or GeoDataFrame
        Anything :func:`zoning.read_sites` accepts, or its output.
    catalog, layers : the layer catalog (path or object) or already loaded layers.
    rule_pack : a rule pack (path or object); default: the one the catalog names.
    attributes : project attributes applied to every site (override the file's columns).
    buffers_m : buffer ring radii in metres.
    base_year : first year of the forgone forest sink (default: this calendar year).

    Returns one :class:`ScreenResult` per site, in input order. A site that cannot be screened
    (bad geometry, invalid attribute) gives a result with ``error`` set and no verdict.
    :func:`zoning.screen` wraps this (and runs it on Dask when asked).
    """
    if layers is None:
        cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        layers = load_layerset(cat, engine=engine)
    pack = resolve_rule_pack(rule_pack, layers.catalog)
    overrides = attrs_mod.parse_mapping(attributes, given=True)
    sites = prepare_sites(sites, crs=crs, engine=engine).reset_index(drop=True)
    # county only: whether the layers cover a site is measured below, per coverage area, on the
    # stored geometry (locate_sites' own coverage notes are replaced by those, with figures and hints)
    given_warnings = list(sites["warnings"])
    sites = locate_sites(sites.assign(warnings=[[] for _ in range(len(sites))]), layers.admin_index(),
                         notes_column=True)
    # of its notes only a site across county boundaries is kept (which counties, what share)
    sites["warnings"] = [list(given) + notes for given, notes in zip(given_warnings, sites.pop("county_notes"))]
    ok = np.array([e is None and g is not None and not g.is_empty for e, g in zip(sites["error"], sites.geometry)])
    # one site the geometry engine cannot handle is an error row; the others are screened
    overlay_of, failed = _per_site(lambda idx: overlay_sites(sites.iloc[idx], layers, buffers_m=tuple(buffers_m)),
                                   np.flatnonzero(ok))
    if failed:
        sites["error"] = [failed.get(i, e) for i, e in enumerate(sites["error"])]
        ok[list(failed)] = False
    cents = site_centroids(sites)
    areas = np.zeros(len(sites))
    polygonal = np.array([g is not None and not g.is_empty and g.geom_type.endswith("Polygon") for g in sites.geometry])
    if polygonal.any():
        areas[polygonal] = ellipsoidal_areas(sites.geometry[polygonal])
    try:
        carbon = _carbon_sections(sites, ok, layers, overrides, base_year or datetime.date.today().year)
    except ZoningError:
        raise
    except Exception as exc:  # noqa: BLE001 - carbon is one section of a result: say why it is missing
        from zoning.carbon.density import carbon_unavailable

        carbon = {int(i): carbon_unavailable("failed", internal_reason(exc)) for i in np.flatnonzero(ok)}
    geoms_all = sites.geometry.values
    by_site, _ = _per_site(lambda idx: site_coverage(geoms_all[idx], np.ones(len(idx), bool), layers),
                           np.flatnonzero(ok))
    coverage = [by_site.get(i, {}) for i in range(len(sites))]
    for i, ov in overlay_of.items():  # one answer to "is the site covered", measured on the stored geometry
        cov = coverage[i].get(COVERAGE_DEFAULT)
        if cov is not None and cov.status != "unknown":
            ov.in_coverage = cov.status
    results = []
    total = len(sites)
    library = _clause_library(layers)  # once per batch, not per site
    memo: dict = {}  # equal parts of results made once per batch (see _rule_record, site_clauses)
    # plain dicts: pandas row access costs more than screening a site
    records = pd.DataFrame(sites.drop(columns="geometry")).to_dict("records")
    geoms = list(sites.geometry.values)
    cent_list = list(cents.values)
    # what the site section holds, made for the whole batch at once (one transform per GK zone)
    with_overlay = sorted(overlay_of)
    corners = dict(zip(with_overlay, corner_tables(sites.geometry.values[with_overlay],
                                                   [overlay_of[i].crs_used for i in with_overlay])))
    wkts = shapely.to_wkt(sites.geometry.values, rounding_precision=7).tolist()
    corner_total = corner_counts(sites.geometry.values).tolist()
    for i in range(total):
        row = records[i]
        row["geometry"] = geoms[i]
        row["_area_m2"] = float(areas[i])
        row["_coverage"] = coverage[i]
        row["_wkt"] = wkts[i]
        row["_corners"] = corners.get(i)
        row["_corners_total"] = corner_total[i]
        try:
            results.append(_screen_one(row, cent_list[i], overlay_of.get(i), layers, pack, overrides,
                                       list(buffers_m), carbon.get(i), library=library, memo=memo))
        except ZoningError as exc:
            results.append(_error_result(row, cent_list[i], layers, pack, exc.one_line(full=True), list(buffers_m)))
        except Exception as exc:  # noqa: BLE001 - one site's failure is its error row, never the batch's end
            results.append(_error_result(row, cent_list[i], layers, pack, internal_reason(exc), list(buffers_m)))
        if progress:
            progress(i + 1, total)
    return results


def internal_reason(exc: BaseException) -> str:
    """The error-row text of a failure zoning did not foresee (a bug: the rest of the batch goes on)."""
    from zoning.escape import terminal_text

    detail = " ".join(terminal_text(str(exc)).split())[:160]
    return (f"内部错误，此站点无法筛查（请报告）/ internal error, this site could not be screened (please report): "
            f"{type(exc).__name__}: {detail}")


def _per_site(func, idx: np.ndarray) -> tuple[dict[int, Any], dict[int, str]]:
    """``func(positions) -> list`` over all ``idx`` at once; if that fails (one geometry the engine
    cannot handle), over each position alone. Returns (position -> value, position -> error text)."""
    if not len(idx):
        return {}, {}
    try:
        return dict(zip((int(i) for i in idx), func(idx))), {}
    except ZoningError:
        raise
    except Exception:  # noqa: BLE001 - find the site(s) at fault
        out, failed = {}, {}
        for i in idx:
            try:
                out[int(i)] = func(np.array([i]))[0]
            except ZoningError as exc:
                failed[int(i)] = exc.one_line(full=True)  # stored whole; only the console caps
            except Exception as exc:  # noqa: BLE001
                failed[int(i)] = internal_reason(exc)
        return out, failed


def _carbon_sections(sites, ok, layers: LayerSet, overrides: dict, base_year: int) -> dict[int, dict]:
    """Forest carbon of every polygon footprint, in one vectorised zonal pass."""
    import rasterio.errors

    from zoning.carbon.density import CarbonError, carbon_unavailable, footprint_carbon, measure, open_density

    specs = layers.catalog.by_role("forest_carbon")
    out: dict[int, dict] = {}
    polygonal = np.array([bool(k) and g is not None and g.geom_type.endswith("Polygon")
                          for k, g in zip(ok, sites.geometry)])
    for i in np.flatnonzero(ok & ~polygonal):
        out[int(i)] = carbon_unavailable("no_footprint", "点或线站点没有占地面积 / a point or line site has no footprint")
    if not polygonal.any():
        return out
    if not specs:
        for i in np.flatnonzero(polygonal):
            out[int(i)] = carbon_unavailable("failed", "目录中没有森林碳密度图层 / the catalog has no forest_carbon layer")
        return out
    spec = specs[0]
    info = layers.info.get(spec.role)
    if info is not None and info.integrity == "failed":  # the shared validation (e.g. a corrupt block) failed it
        for i in np.flatnonzero(polygonal):
            out[int(i)] = carbon_unavailable("failed", info.detail or "the carbon raster failed validation")
        return out
    try:
        raster = open_density(spec.path, units=spec.units, pools=spec.pools)
        # the measured columns of carbon.density.stock as arrays: no frame to build for a few sites
        footprints = gpd.GeoSeries(sites.geometry.values[polygonal], crs=sites.crs)
        if not footprints.crs.equals(raster.crs):
            footprints = footprints.to_crs(raster.crs)
        table = measure(footprints.values, raster, workers=1)
    except (CarbonError, rasterio.errors.RasterioError) as exc:  # corrupt raster: the section fails, with why
        detail = exc.en if isinstance(exc, CarbonError) else f"corrupt carbon raster: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        for i in np.flatnonzero(polygonal):
            out[int(i)] = carbon_unavailable("failed", detail)
        return out
    meta = {"name": spec.name, "vintage": spec.vintage, "units": raster.units, "pools": raster.pools,
            "synthetic": spec.synthetic, "source": spec.source}
    given = list(sites["clear_share"]) if "clear_share" in sites else None
    columns = list(table)
    for i, values in zip(np.flatnonzero(polygonal), zip(*(table[c].tolist() for c in columns))):
        row = dict(zip(columns, values))
        clear = overrides.get("clear_share", given[int(i)] if given is not None else None)
        try:
            clear = attrs_mod.parse_value("clear_share", clear)
        except ZoningError:
            clear = None  # the attribute error itself is reported by the site's error row
        section = footprint_carbon(row, clear_share=clear, base_year=base_year, raster_meta=meta)
        if "outside_raster" in section["flags"]:  # no data there: its figures are no measurement of 0 t
            section["status"] = "outside"
            section["detail"] = ("站点不在森林碳密度图范围内：没有数据（不是 0 吨） / the site lies outside the forest carbon "
                                 "raster: no data (not 0 t)")
        elif "nodata_only" in section["flags"]:  # inside the raster's extent, but every pixel is nodata
            section["status"] = "nodata"
            section["detail"] = (
                "站点在森林碳密度图范围内的部分全部为无数据像元，其余在图外：没有数据（不是 0 吨） / the part of the site inside "
                "the forest carbon raster has only nodata pixels, the rest lies outside it: no data (not 0 t)"
                if "partly_outside_raster" in section["flags"] else
                "森林碳密度图在站点范围内全部为无数据像元：没有数据（不是 0 吨） / the forest carbon raster has only nodata "
                "pixels in the site: no data (not 0 t)")
        if section["status"] in ("outside", "nodata"):  # nothing measured: no figures, not 0 t
            for key in NOT_MEASURED_FIGURES:
                section[key] = None
            section["forgone_sink"] = {**section["forgone_sink"], "per_year_tCO2": None, "to_2030_tCO2": None,
                                       "to_2060_tCO2": None}
        elif {"partly_outside_raster", "nodata_in_footprint"} & set(section["flags"]):
            # measured where there is data: a lower bound, which no forest threshold may pass as "not over"
            share = float(row.get("coverage_share") or 0.0)  # valid (data) pixels' share of the footprint
            section["status"] = "partial"
            section["detail"] = (f"森林碳密度图只有站点的一部分有数据（约 {share:.0%} 的面积），森林面积与碳储量为下限 / the "
                                 f"forest carbon raster has data for part of the site only (about {share:.0%} of its "
                                 f"area): forest area and stock are lower bounds")
        out[int(i)] = section
    return out


#: a carbon section's figures that are null when nothing was measured (status outside or nodata)
NOT_MEASURED_FIGURES = ("forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "forest_loss_ha", "loss_tC", "loss_tCO2")


def _site_info(row, cent, ov) -> SiteInfo:
    geom = row["geometry"]
    has = geom is not None and not geom.is_empty
    return SiteInfo(
        name=_clean(row.get("name")) if isinstance(row.get("name"), str) else None,
        geom_type=geom.geom_type if has else None,
        lon=round(cent.x, 7) if cent is not None else None,
        lat=round(cent.y, 7) if cent is not None else None,
        area_m2=round(row["_area_m2"], 4),
        length_m=round(geodesic_length(geom), 2) if has and geom.geom_type.endswith("LineString") else 0.0,
        county=_text_or_none(row.get("county")), county_code=_text_or_none(row.get("county_code")),
        coverage=ov.in_coverage if ov else "unknown", crs_in=_text_or_none(row.get("crs_in")),
        wkt=(row["_wkt"] if "_wkt" in row else shapely.to_wkt(geom, rounding_precision=7)) if has else None,
        area_gk_m2=round(ov.area_m2, 4) if ov is not None else None,
        corners=(row.get("_corners") or corner_rows(geom, ov.crs_used)) if has and ov is not None else [],
        corners_crs=f"EPSG:{ov.crs_used}" if has and ov is not None and geom.geom_type.endswith("Polygon") else None,
        corners_total=(int(row["_corners_total"]) if "_corners_total" in row else int(corner_counts([geom])[0]))
        if has and ov is not None and geom.geom_type.endswith("Polygon") else None,
    )


def _layer_records(layers: LayerSet, ov, hits, cover: dict | None = None,
                   carbon: dict | None = None) -> list[LayerRecord]:
    """Every layer's status at this site: its integrity (ok/empty/partial/failed, from the one
    validation ``layers check`` runs), then whether its coverage reaches the site.

    Most sites of a batch have the same records (inside everything, all layers ok): those are made
    once per layer set and shared by the results (records are never changed after screening), which
    also keeps them to one copy each when a chunk of results is pickled."""
    failed_carbon = carbon.get("detail") if carbon is not None and carbon.get("status") == "failed" else None
    cover_key = tuple((k, c.status, c.outside_share) for k, c in cover.items()) if cover else ()
    key = ("__layer_records__", ov.in_coverage if ov is not None else None,
           ov is not None and any(h.role == "control_unit" for h in hits), failed_carbon, cover_key)
    shared = layers._proj.get(key)
    if shared is None:
        shared = _make_layer_records(layers, ov, {h.role for h in hits}, cover, carbon)
        if not any(c[1] == "partial" for c in cover_key):  # a share of its own: not worth keeping
            layers._proj[key] = shared
    return list(shared)


def _make_layer_records(layers: LayerSet, ov, hit_roles: set, cover: dict | None,
                        carbon: dict | None) -> list[LayerRecord]:
    out = []
    for role, info in layers.info.items():
        status, detail = info.integrity, info.detail
        if info.kind == "raster" and carbon is not None and carbon.get("status") == "failed" and status != "failed":
            status, detail = "failed", str(carbon.get("detail") or "the raster could not be read")
        reach = _reach(info, cover)
        if status in ("ok", "partial") and reach is not None and reach.status in ("outside", "partial"):
            note = (f"site outside the layer's coverage ({info.coverage})" if reach.status == "outside" else
                    f"{reach.outside_share:.1%} of the site outside the layer's coverage ({info.coverage})")
            detail = note + (f"; {detail}" if status == "partial" else "")
            status = "outside" if reach.status == "outside" else "partly_outside"
        elif status == "ok" and ov is not None and ov.in_coverage == "outside" and role != "admin":
            status = "outside"
        elif status == "ok" and role == "control_unit" and ov is not None and "control_unit" not in hit_roles \
                and ov.in_coverage != "outside":
            status = "gap"
        out.append(LayerRecord(role, info.name, info.vintage, status, info.synthetic, detail,
                               info.bad_ids[:MAX_BAD_IDS]))
    return out


def _error_result(row, cent, layers, pack, message, buffers) -> ScreenResult:
    return ScreenResult(site_id=str(row["site_id"]), verdict=None, rules=[], hits=[], nearest=[], buffers=[],
                        buffer_rings_m=buffers, layers=_layer_records(layers, None, []),
                        rule_pack={"name": pack.name, "version": pack.version, "synthetic": pack.synthetic},
                        crs_used=None, warnings=list(row.get("warnings") or []), inputs={}, derived={},
                        site=_site_info(row, cent, None), synthetic_layers=layers.synthetic, error=message)


def _site_attributes(row, overrides: dict, memo: dict):
    """(attributes, what they settle of :func:`attributes.derived`, notes on the site's own values the
    batch's ``overrides`` replaced) of a site's row, or the ZoningError of a bad value. Rows with the same attribute cells share one
    parse per batch (``memo``; a large file has few distinct attribute rows)."""
    keys = memo.get("attribute_keys")
    if keys is None:
        keys = memo["attribute_keys"] = tuple(attrs_mod.attribute_keys(row))
    try:  # NaN cells (unknown) as one key whatever the float object
        key = ("attributes", tuple("\0nan" if isinstance(v, float) and v != v else v for v in
                                   (row.get(k) for k in keys)))
        hash(key)
    except TypeError:  # an unhashable cell (a list): parsed as it is, not kept
        key = None
    found = memo.get(key) if key is not None else None
    if found is None:
        try:
            attrs = {k: None for k in attrs_mod.ATTRIBUTES}
            own = attrs_mod.parse_mapping({k: row[k] for k in keys if k in row})
            attrs.update(own)
            attrs.update(overrides)
            attrs = {k: _clean(v) for k, v in attrs.items()}
            # a value given for the whole batch replaces the site's own: said, not silent
            replaced = [f"属性 {k} 采用统一给定的 {attrs[k]}（站点数据中为 {own[k]}）/ attribute {k}: the value given for all "
                        f"sites, {attrs[k]}, replaces the site's own {own[k]}"
                        for k in overrides if own.get(k) is not None and _clean(own[k]) != attrs[k]]
            found = (attrs, attrs_mod.derived_from_attributes(attrs), replaced)
        except ZoningError as exc:
            found = exc
        if key is not None:
            memo[key] = found
    return found


def _shared(memo: dict, key, make):
    """``make()`` once per batch (``memo``) for ``key``: a part equal in many results, shared by them."""
    found = memo.get(key)
    if found is None:
        found = memo[key] = make()
    return found


def _rule_record(o, memo: dict) -> RuleRecord:
    """The record of a rule outcome; equal outcomes (same rule, outcome, reasons) share one record in
    a batch (``memo``): records are never changed afterwards, and a chunk of results then pickles it once."""
    key = ("rule", o.rule.id, o.outcome, tuple(o.reasons), tuple(o.possible_outcomes))
    record = memo.get(key)
    if record is None:
        record = memo[key] = RuleRecord(o.rule.id, o.outcome, o.rule.dimension, o.rule.line, o.rule.title_zh,
                                        o.rule.title_en, o.rule.message_zh, o.rule.message_en, o.rule.citation,
                                        o.reasons, o.possible_outcomes)
    return record


def _screen_one(row, cent, ov, layers: LayerSet, pack: RulePack, overrides: dict, buffers,
                carbon: dict | None, *, library=..., memo: dict | None = None) -> ScreenResult:
    if row.get("error") is not None or ov is None:
        return _error_result(row, cent, layers, pack, row.get("error") or "no usable geometry", buffers)
    memo = {} if memo is None else memo
    parsed = _site_attributes(row, overrides, memo)
    if isinstance(parsed, ZoningError):
        return _error_result(row, cent, layers, pack, parsed.one_line(full=True), buffers)
    attrs, settled, replaced = parsed  # shared by the batch's sites with these attributes: read, never changed
    footprint_ha = ov.area_m2 / 1e4
    clear = attrs.get("clear_share")
    # the order of attributes.derived: what the attributes settle, then the footprint figures
    derived = {**settled, "footprint_ha": footprint_ha, "cleared_ha": None if clear is None else footprint_ha * clear}
    derived.update(_carbon_derived(carbon, attrs))
    hits = ov.hits
    cover = row.get("_coverage") or {}
    layer_records = _layer_records(layers, ov, hits, cover, carbon)
    status = {lr.role: lr.status for lr in layer_records}
    nearest = {n.target: n for n in ov.nearest}
    geom = row["geometry"]

    def distance_fn(role: str, filters: dict) -> float | None:
        for target, (t_role, where) in NEAREST_TARGETS.items():
            if t_role == role and dict((k, list(v)) for k, v in where) == {k: (v if isinstance(v, list) else [v])
                                                                           for k, v in filters.items()}:
                return nearest[target].distance_m if target in nearest else None
        where = tuple((k, tuple(v if isinstance(v, list) else [v])) for k, v in sorted(filters.items()))
        frame, _ = layers.projected(role, ov.crs_used, where)
        if len(frame) == 0:
            return None
        # the same measure as the standard targets: nearest points in GK, distance on the ellipsoid
        g = project(np.array([geom], dtype=object), ov.crs_used, src=STORAGE_EPSG)
        _, _, dist = nearest_exact(g, layers, role, ov.crs_used, where)
        return float(dist[0]) if len(dist) else None

    facts = Facts(hits=hits, layer_status=status, attrs=attrs, derived=derived,
                  county_code=_text_or_none(row.get("county_code")), distance_fn=distance_fn)
    fired = apply_rules(pack, facts)
    verdict = overall_verdict(fired)
    reach = cover.get(COVERAGE_DEFAULT)
    hint = suggestion_text(crs_suggestions(geom, row.get("crs_in"), layers.coverages.get(COVERAGE_DEFAULT))
                           if reach is not None and reach.status in ("outside", "partial") else [])
    verdict, verdict_reasons = _headline(verdict, fired, status, reach, hint,
                                         {role: info.name for role, info in layers.info.items()})
    # rules undecided for want of attributes, that could end worse than what fired: say so
    verdict_reasons += undecided_notes(fired) if verdict == "needs_info" else []
    rules = [_rule_record(o, memo) for o in fired]
    # most important first: where the site is, then what is wrong with the layers, then the rest
    warnings = (_coverage_warnings(reach, hint) + _layer_warnings(layer_records, reach) + list(row.get("warnings") or [])
                + replaced)
    if derived.get("industry_note"):
        warnings.append(f"行业代码 {attrs.get('industry')}：{derived['industry_note']}")
    library = _clause_library(layers) if library is ... else library
    samples = _sample_parts(layers, pack, library)
    if samples:
        warnings.append(f"本结果使用了{'、'.join(zh for zh, _ in samples)}，仅供演示，不能作为审批依据 / made with "
                        f"{' and '.join(en for _, en in samples)}: for demonstration only, not a basis for approval")
    units = [{"code": str(h.props.get("code") or h.id), "name": _text_or_none(h.props.get("name")) or h.name,
              "class": h.cls, "county_code": _text_or_none(h.props.get("county_code"))}
             for h in hits if h.role == "control_unit"]
    if library is None and getattr(layers.catalog, "clauses", None) is not None:
        warnings_extra = [f"图层目录指定的条款库不存在：{layers.catalog.clauses}（运行 zoning sample build 生成示例条款库）/ "
                          f"the catalog's clause library is missing: {layers.catalog.clauses}"]
    else:
        warnings_extra = []
    rule_ids = _shared(memo, ("rule_ids", id(pack)), lambda: {r.id for r in pack.rules})
    clauses = site_clauses(library, units, {o.rule.id: o.outcome for o in fired}, rule_ids, memo=memo)
    opinion = draft_opinion(site_id=str(row["site_id"]), name=attrs.get("name"),
                            verdict=verdict, units=units, clauses=clauses, library=library,
                            synthetic=[zh for zh, _ in samples],
                            rules=[{"id": o.rule.id, "outcome": o.outcome, "title_zh": o.rule.title_zh,
                                    "title_en": o.rule.title_en} for o in fired], reasons=verdict_reasons)
    site = _site_info(row, cent, ov)
    if site.corners_total is not None and site.corners_total > len(site.corners):
        warnings.append(f"界址点共 {site.corners_total:,} 个，结果与报告只列出前 {len(site.corners):,} 个 / the site has "
                        f"{site.corners_total:,} corner points: the result and the reports list the first "
                        f"{len(site.corners):,}")
    return ScreenResult(
        clauses=clauses, opinion=opinion,
        site_id=str(row["site_id"]), verdict=verdict, rules=rules, hits=hits,
        nearest=ov.nearest,
        buffers=sorted(ov.buffers, key=lambda b: (b.ring_m, b.distance_m, b.role, b.id)),
        buffer_rings_m=_shared(memo, ("rings", tuple(buffers)), lambda: [float(b) for b in sorted(buffers)]),
        layers=layer_records,
        rule_pack=_shared(memo, ("rule_pack", id(pack)),
                          lambda: {"name": pack.name, "version": pack.version, "synthetic": pack.synthetic}),
        crs_used=f"EPSG:{ov.crs_used}", warnings=warnings + warnings_extra,
        inputs=dict(attrs), derived={k: _clean(v) for k, v in derived.items()},  # its own: a user may edit it
        site=site, synthetic_layers=layers.synthetic, carbon=carbon,
        verdict_reasons=verdict_reasons,
        possible_verdicts=possible_verdicts((o.outcome, o.possible_outcomes) for o in fired)
        if overall_verdict(fired) == "needs_info" else [],
    )


def _clause_library(layers: LayerSet):
    """The catalog's clause library, or None when it names none."""
    path = getattr(layers.catalog, "clauses", None)
    return load_clause_library(path) if path is not None and Path(path).exists() else None


def _coverage_warnings(reach: Cover | None, hint: tuple[str, str]) -> list[str]:
    """The site against the layer set's area (the admin layer, unless the catalog says otherwise)."""
    hint_zh = f"；坐标系可能有误：{hint[0]}" if hint[0] else ""
    hint_en = f"; the CRS may be wrong: {hint[1]}" if hint[1] else ""
    if reach is None or reach.status == "inside":
        return []
    if reach.status == "outside":
        km = (reach.distance_m or 0.0) / 1000
        return [f"站点位于图层覆盖范围以外（距边界约 {km:.1f} km），相关规则为“需补充信息”，不能给出结论{hint_zh} / "
                f"site lies outside the layers' coverage, i.e. outside the layer set's area (about {km:.1f} km from its "
                f"edge): "
                f"dependent rules are needs_info and no verdict is possible{hint_en}"]
    zh_share, en_share = _share_words(reach.outside_share)
    return [f"站点{zh_share}超出图层覆盖范围，超出部分无法判定{hint_zh} / site partly outside the "
            f"layers' coverage: {en_share} of it lies outside the layer set's area and cannot be "
            f"screened{hint_en}"]


def _sample_parts(layers: LayerSet, pack: RulePack, library) -> list[tuple[str, str]]:
    """Which parts of what a result was made with are samples, not official: (zh, en) each."""
    parts = []
    if layers.synthetic:
        parts.append(("合成示例图层", "SYNTHETIC sample layers"))
    if pack.synthetic:
        parts.append(("示例规则包", "a SAMPLE rule pack"))
    if library is not None and library.synthetic:
        parts.append(("示例准入清单条款库", "a SAMPLE clause library"))
    return parts


def _share_words(share: float) -> tuple[str, str]:
    """A share of the site as said in a warning: "约 12.5%" / "about 12.5%", or "不足 0.1%" below that."""
    if share >= 0.001:
        return f"约 {share:.1%}", f"about {share:.1%}"
    return "不足 0.1%", "less than 0.1 %"


def _layer_warnings(records: list[LayerRecord], reach: Cover | None) -> list[str]:
    """One line per layer that failed, lacks features, or does not cover the site (when the site
    itself is inside the layer set's area: otherwise the coverage warning says it already)."""
    out = []
    for lr in records:
        if lr.status == "failed" and lr.detail == NO_LAYER_DETAIL:
            out.append(f"图层目录中没有{lr.name}图层（{lr.role}），相关规则为“需补充信息” / the catalog has no {lr.role} "
                       f"layer; dependent rules are needs_info")
        elif lr.status == "failed":
            out.append(f"图层 {lr.name}（{lr.role}）加载失败，相关规则为“需补充信息” / layer {lr.role} failed "
                       f"to load ({lr.detail}); dependent rules are needs_info")
        elif lr.status == "partial":
            ids = ", ".join(lr.bad_ids[:10]) + (" …" if len(lr.bad_ids) > 10 else "")
            out.append(f"图层 {lr.name}（{lr.role}）有 {len(lr.bad_ids)} 个要素无法使用（{ids}），未命中时相关规则为"
                       f"“需补充信息” / layer {lr.role} has unusable features ({lr.detail}); dependent rules are "
                       f"needs_info unless a usable feature decides them")
        elif lr.status in ("outside", "partly_outside") and (reach is None or reach.status == "inside"):
            out.append(f"图层 {lr.name}（{lr.role}）的覆盖范围不含（全部）站点，相关规则为“需补充信息” / layer "
                       f"{lr.role} does not cover (all of) the site ({lr.detail}); dependent rules are needs_info")
    return out


def _carbon_derived(carbon: dict | None, attrs: dict) -> dict:
    """forest_ha, forest_loss_ha (ha) and stock_loss_tCO2 for the rules; None when not known."""
    if carbon is None:
        return {"forest_ha": None, "forest_loss_ha": None, "stock_loss_tCO2": None, "carbon_status": "none"}
    if carbon["status"] == "no_footprint":
        return {"forest_ha": 0.0, "forest_loss_ha": 0.0, "stock_loss_tCO2": 0.0, "carbon_status": "no_footprint"}
    if carbon["status"] != "ok":
        return {"forest_ha": None, "forest_loss_ha": None, "stock_loss_tCO2": None,
                "carbon_status": carbon["status"]}
    given = attrs.get("clear_share") is not None
    return {"forest_ha": carbon["forest_ha"],
            "forest_loss_ha": carbon["forest_loss_ha"] if given else None,
            "stock_loss_tCO2": carbon["loss_tCO2"] if given else None, "carbon_status": "ok"}
