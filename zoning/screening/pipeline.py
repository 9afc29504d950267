"""Screening: sites x layers x rules -> one ScreenResult per site."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.screening import attributes as attrs_mod
from zoning.io.catalog import Catalog, load_catalog
from zoning.errors import ZoningError
from zoning.io.layerset import LayerSet, load_layerset
from zoning.geo.locate import locate_sites, site_centroids
from zoning.geo.measure import ellipsoidal_areas, geodesic_length
from zoning.screening.overlay import DEFAULT_BUFFERS_M, NEAREST_TARGETS, overlay_sites
from zoning.screening.result import LayerRecord, RuleRecord, ScreenResult, SiteInfo
from zoning.screening.rules import Facts, RulePack, apply_rules, load_rule_pack, overall_verdict
from zoning.io.sites import read_sites


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


def default_rule_pack(catalog: Catalog) -> RulePack:
    if catalog.rule_pack is None:
        raise ZoningError("图层目录未指定规则包（rules:），请用 --rules 指定",
                          "the catalog names no rule pack ('rules:'); pass --rules")
    return load_rule_pack(catalog.rule_pack)


def prepare_sites(sites, *, crs=None, engine: str = "pyogrio", layer: str | None = None) -> gpd.GeoDataFrame:
    """Sites as screening takes them: read (errors flagged per row, never raised for one bad site)
    and with an ``error`` column that holds a message or None."""
    if not (isinstance(sites, gpd.GeoDataFrame) and {"site_id", "crs_in", "warnings"} <= set(sites.columns)):
        sites = read_sites(sites, crs=crs, engine=engine, layer=layer, on_error="flag")
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
    overrides = {k: attrs_mod.parse_value(k, v) for k, v in (attributes or {}).items()}
    sites = prepare_sites(sites, crs=crs, engine=engine)
    sites = locate_sites(sites.reset_index(drop=True), layers.admin_index())
    ok = np.array([e is None and g is not None and not g.is_empty for e, g in zip(sites["error"], sites.geometry)])
    overlays = overlay_sites(sites[ok], layers, buffers_m=tuple(buffers_m)) if ok.any() else []
    overlay_of = dict(zip(np.flatnonzero(ok), overlays))
    cents = site_centroids(sites)
    areas = np.zeros(len(sites))
    polygonal = np.array([g is not None and not g.is_empty and g.geom_type.endswith("Polygon") for g in sites.geometry])
    if polygonal.any():
        areas[polygonal] = ellipsoidal_areas(sites.geometry[polygonal])
    carbon = _carbon_sections(sites, ok, layers, overrides, base_year or datetime.date.today().year)
    results = []
    total = len(sites)
    # plain dicts: pandas row access costs more than screening a site
    records = pd.DataFrame(sites.drop(columns="geometry")).to_dict("records")
    geoms = list(sites.geometry.values)
    cent_list = list(cents.values)
    for i in range(total):
        row = records[i]
        row["geometry"] = geoms[i]
        row["_area_m2"] = float(areas[i])
        results.append(_screen_one(row, cent_list[i], overlay_of.get(i), layers, pack, overrides,
                                   list(buffers_m), carbon.get(i)))
        if progress:
            progress(i + 1, total)
    return results


def _carbon_sections(sites, ok, layers: LayerSet, overrides: dict, base_year: int) -> dict[int, dict]:
    """Forest carbon of every polygon footprint, in one vectorised zonal pass."""
    from zoning.carbon.density import CarbonError, carbon_unavailable, footprint_carbon, open_density, stock

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
    try:
        raster = open_density(spec.path, units=spec.units, pools=spec.pools)
        table = stock(sites[polygonal], raster, workers=1)
    except CarbonError as exc:
        for i in np.flatnonzero(polygonal):
            out[int(i)] = carbon_unavailable("failed", exc.en)
        return out
    meta = {"name": spec.name, "vintage": spec.vintage, "units": raster.units, "pools": raster.pools,
            "synthetic": spec.synthetic, "source": spec.source}
    for i, row in zip(np.flatnonzero(polygonal), table.to_dict("records")):
        clear = overrides.get("clear_share", sites["clear_share"].iloc[int(i)] if "clear_share" in sites else None)
        try:
            clear = attrs_mod.parse_value("clear_share", clear)
        except ZoningError:
            clear = None  # the attribute error itself is reported by the site's error row
        section = footprint_carbon(row, clear_share=clear, base_year=base_year, raster_meta=meta)
        if "outside_raster" in section["flags"]:
            section["status"] = "outside"
        out[int(i)] = section
    return out


def _site_info(row, cent, ov) -> SiteInfo:
    geom = row["geometry"]
    has = geom is not None and not geom.is_empty
    return SiteInfo(
        name=_clean(row.get("name")) if isinstance(row.get("name"), str) else None,
        geom_type=geom.geom_type if has else None,
        lon=round(cent.x, 7) if cent is not None else None,
        lat=round(cent.y, 7) if cent is not None else None,
        area_m2=round(row["_area_m2"], 2),
        length_m=round(geodesic_length(geom), 2) if has and geom.geom_type.endswith("LineString") else 0.0,
        county=_text_or_none(row.get("county")), county_code=_text_or_none(row.get("county_code")),
        coverage=ov.in_coverage if ov else "unknown", crs_in=_text_or_none(row.get("crs_in")),
        wkt=shapely.to_wkt(geom, rounding_precision=7) if has else None,
    )


def _layer_records(layers: LayerSet, ov, hits) -> list[LayerRecord]:
    out = []
    hit_roles = {h.role for h in hits}
    for role, info in layers.info.items():
        status = info.status
        if status == "ok" and ov is not None and ov.in_coverage == "outside" and role != "admin":
            status = "outside"
        elif status == "ok" and role == "control_unit" and ov is not None and "control_unit" not in hit_roles \
                and ov.in_coverage != "outside":
            status = "gap"
        out.append(LayerRecord(role, info.name, info.vintage, status, info.synthetic, info.detail))
    for spec in layers.catalog.layers:  # rasters are listed for their vintage and provenance
        if spec.kind == "raster":
            out.append(LayerRecord(spec.role, spec.name, spec.vintage, "ok" if spec.path.exists() else "failed",
                                   spec.synthetic, "" if spec.path.exists() else f"missing file {spec.path}"))
    return out


def _error_result(row, cent, layers, pack, message, buffers) -> ScreenResult:
    return ScreenResult(site_id=str(row["site_id"]), verdict=None, rules=[], hits=[], nearest=[], buffers=[],
                        buffer_rings_m=buffers, layers=_layer_records(layers, None, []),
                        rule_pack={"name": pack.name, "version": pack.version, "synthetic": pack.synthetic},
                        crs_used=None, warnings=list(row.get("warnings") or []), inputs={}, derived={},
                        site=_site_info(row, cent, None), synthetic_layers=layers.synthetic, error=message)


def _screen_one(row, cent, ov, layers: LayerSet, pack: RulePack, overrides: dict, buffers,
                carbon: dict | None) -> ScreenResult:
    if row.get("error") is not None or ov is None:
        return _error_result(row, cent, layers, pack, row.get("error") or "no usable geometry", buffers)
    try:
        attrs = {k: None for k in attrs_mod.ATTRIBUTES}
        attrs.update(attrs_mod.from_record(row))
        attrs.update(overrides)
    except ZoningError as exc:
        return _error_result(row, cent, layers, pack, exc.one_line(), buffers)
    attrs = {k: _clean(v) for k, v in attrs.items()}
    derived = attrs_mod.derived(attrs, footprint_ha=ov.area_m2 / 1e4)
    derived.update(_carbon_derived(carbon, attrs))
    hits = ov.hits
    layer_records = _layer_records(layers, ov, hits)
    status = {lr.role: lr.status for lr in layer_records}
    nearest = {n.target: n for n in ov.nearest}
    geom = row["geometry"]

    def distance_fn(role: str, filters: dict) -> float | None:
        for target, (t_role, where) in NEAREST_TARGETS.items():
            if t_role == role and dict((k, list(v)) for k, v in where) == {k: (v if isinstance(v, list) else [v])
                                                                           for k, v in filters.items()}:
                return nearest[target].distance_m if target in nearest else None
        where = tuple((k, tuple(v if isinstance(v, list) else [v])) for k, v in sorted(filters.items()))
        frame, tree = layers.projected(role, ov.crs_used, where)
        if len(frame) == 0:
            return None
        g = gpd.GeoSeries([geom], crs=4490).to_crs(ov.crs_used).iloc[0]
        return float(tree.geometries[tree.nearest(g)].distance(g))

    facts = Facts(hits=hits, layer_status=status, attrs=attrs, derived=derived,
                  county_code=_text_or_none(row.get("county_code")), distance_fn=distance_fn)
    fired = apply_rules(pack, facts)
    verdict = overall_verdict(fired)
    rules = [RuleRecord(o.rule.id, o.outcome, o.rule.dimension, o.rule.line, o.rule.title_zh, o.rule.title_en,
                        o.rule.message_zh, o.rule.message_en, o.rule.citation, o.reasons) for o in fired]
    warnings = list(row.get("warnings") or [])
    if derived.get("industry_note"):
        warnings.append(f"行业代码 {attrs.get('industry')}：{derived['industry_note']}")
    for lr in layer_records:
        if lr.status == "failed":
            warnings.append(f"图层 {lr.name}（{lr.role}）加载失败，相关规则为“需补充信息” / layer {lr.role} failed "
                            f"to load ({lr.detail}); dependent rules are needs_info")
    if layers.synthetic or pack.synthetic:
        warnings.append("本结果使用了合成示例图层/规则，仅供演示，不能作为审批依据 / made with SYNTHETIC sample "
                        "layers or rules: for demonstration only, not a basis for approval")
    return ScreenResult(
        site_id=str(row["site_id"]), verdict=verdict, rules=rules, hits=hits,
        nearest=ov.nearest,
        buffers=sorted(ov.buffers, key=lambda b: (b.ring_m, b.distance_m)),
        buffer_rings_m=[float(b) for b in sorted(buffers)],
        layers=layer_records,
        rule_pack={"name": pack.name, "version": pack.version, "synthetic": pack.synthetic},
        crs_used=f"EPSG:{ov.crs_used}", warnings=warnings,
        inputs={k: v for k, v in attrs.items()}, derived={k: _clean(v) for k, v in derived.items()},
        site=_site_info(row, cent, ov), synthetic_layers=layers.synthetic, carbon=carbon,
    )


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
