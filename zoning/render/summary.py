"""Batch summaries: a console table, summary.csv (UTF-8 with BOM) and GeoPackages."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely

from zoning.escape import csv_frame as spreadsheet_safe
from zoning.geo.measure import MU_M2
from zoning.screening.result import ScreenResult
from zoning.render.labels import outcome_label

CSV_COLUMNS = {  # key -> (Chinese header, English header)
    "site_id": ("站点编号", "site_id"), "name": ("项目名称", "name"), "verdict_zh": ("结论", "verdict_zh"),
    "verdict": ("结论（英文）", "verdict"), "county": ("县区", "county"),
    "unit_code": ("管控单元编码", "unit_code"), "unit_name": ("管控单元名称", "unit_name"),
    "unit_class": ("管控单元类别", "unit_class"), "units": ("涉及管控单元（类别，占比）", "units"),
    "red_line_m2": ("占生态保护红线面积（平方米）", "red_line_m2"),
    "geom_type": ("几何类型", "geom_type"),
    "area_m2": ("面积·椭球面（平方米）", "area_m2"), "area_gk_m2": ("面积·高斯平面（平方米，正式成果采用）", "area_gk_m2"),
    "length_m": ("长度·椭球面（米）", "length_m"), "restrictive_rules": ("禁止/有条件规则", "restrictive_rules"),
    "needs_info_rules": ("需补充信息规则", "needs_info_rules"), "crs_used": ("量算坐标系", "crs_used"),
    "forest_ha": ("森林面积（公顷）", "forest_ha"), "stock_tCO2": ("碳储量（吨CO2）", "stock_tCO2"),
    "loss_tCO2": ("清除碳损失（吨CO2）", "loss_tCO2"), "carbon_status": ("碳储量状态", "carbon_status"),
    "error": ("错误", "error"),
}
#: the carbon figures a summary shows: only a measured section's (outside the raster there is no
#: data, not 0 t; a point has no footprint)
MEASURED_CARBON = ("ok", "partial")  # partial: measured where there is data, said by the status column


def units_by_share(r: ScreenResult) -> list:
    """The control units the site touches, the one holding most of it first (share, then area)."""
    return sorted((h for h in r.hits if h.role == "control_unit"), key=lambda h: (-h.share, -h.area_m2))


def main_unit(r: ScreenResult):
    """The control unit holding most of the site, or None."""
    units = units_by_share(r)
    return units[0] if units else None


def all_units(r: ScreenResult) -> str | None:
    """Every control unit the site touches, largest share first: ``ZH…(优先保护 51.0%); ZH…(…)``
    (a site split between units is not only its main unit)."""
    return "; ".join(f"{h.id}({h.cls} {h.share:.1%})" for h in units_by_share(r)) or None


def role_overlap_m2(r: ScreenResult, role: str) -> float:
    """The site's overlap with the features of ``role`` (m², in the site's GK zone), summed."""
    return float(sum(h.area_m2 for h in r.hits if h.role == role))


#: a site file's own column whose name a summary already uses is carried under this suffix
SOURCE_SUFFIX = "_原表"


def with_source(frame: pd.DataFrame, source: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` with the site file's own columns after its own (a row per result, in order): names
    already taken get SOURCE_SUFFIX, values that are lists or objects become JSON text."""
    if source is None or not len(source.columns) or len(source) != len(frame):
        return frame
    out = frame.copy()
    taken = {str(c) for c in out.columns} | {"geometry"}
    for col in source.columns:
        name = str(col)
        while name in taken:
            name += SOURCE_SUFFIX
        taken.add(name)
        values = source[col].to_numpy(dtype=object)
        out[name] = [json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (list, dict, tuple)) else v
                     for v in values]
        if source[col].dtype != object:  # numbers, dates and booleans stay what they were
            out[name] = out[name].astype(source[col].dtype, errors="ignore")
    return out


def summary_frame(results: list[ScreenResult], source: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per site with canonical (English) column keys."""
    rows = []
    for r in results:
        unit = main_unit(r)
        carbon = (r.carbon or {}) if (r.carbon or {}).get("status") in MEASURED_CARBON else {}
        rows.append({
            "site_id": r.site_id, "name": r.site.name or r.inputs.get("name"), "verdict_zh": outcome_label(r.verdict, "zh"),
            "verdict": r.verdict or "error", "county": r.site.county,
            "unit_code": unit.id if unit else None, "unit_name": unit.name if unit else None,
            "unit_class": unit.cls if unit else None, "units": all_units(r),
            # unknown (not 0) where nothing was screened or the layers do not reach
            "red_line_m2": role_overlap_m2(r, "red_line") if r.verdict and r.site.coverage != "outside" else None,
            "geom_type": r.site.geom_type,
            # a site without a geometry (could not be read) has no area: empty, not 0 m²
            "area_m2": r.site.area_m2 if r.site.wkt else None, "area_gk_m2": r.site.area_gk_m2,
            "length_m": r.site.length_m or None,
            "restrictive_rules": ";".join(f"{x.id}:{x.outcome}" for x in r.rules if x.outcome in ("prohibited", "conditional")),
            "needs_info_rules": ";".join(x.id for x in r.rules if x.outcome == "needs_info"),
            "crs_used": r.crs_used,
            "forest_ha": carbon.get("forest_ha"), "stock_tCO2": carbon.get("stock_tCO2"),
            "loss_tCO2": carbon.get("loss_tCO2"), "carbon_status": (r.carbon or {}).get("status"), "error": r.error,
        })
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


#: the site areas again in 公顷 and 亩 in summary.csv: (source key, unit) -> header
AREA_UNIT_HEADERS = {("area_m2", "ha"): "面积·椭球面（公顷）", ("area_m2", "mu"): "面积·椭球面（亩）",
                     ("area_gk_m2", "ha"): "面积·高斯平面（公顷）", ("area_gk_m2", "mu"): "面积·高斯平面（亩）"}


def csv_frame(results: list[ScreenResult], source: pd.DataFrame | None = None) -> pd.DataFrame:
    """The summary with Chinese headers, as written to summary.csv: both site areas (ellipsoidal,
    and Gauss-Kruger planar, the one official results use) in m², 公顷 and 亩; lines' lengths in m;
    then the site file's own columns (``source``, see :func:`with_source`)."""
    frame = summary_frame(results)
    for key in ("area_m2", "area_gk_m2"):
        at = frame.columns.get_loc(key) + 1
        for unit, divisor in (("mu", MU_M2), ("ha", 1e4)):  # each inserted right after the m² column
            frame.insert(at, AREA_UNIT_HEADERS[(key, unit)], pd.to_numeric(frame[key], errors="coerce") / divisor)
    frame = with_source(frame.rename(columns={k: v[0] for k, v in CSV_COLUMNS.items()}), source)
    # names, ids, rule texts and errors come from data: no cell may run as a spreadsheet formula
    return spreadsheet_safe(frame)


def summary_geoframe(results: list[ScreenResult], source: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Sites with their verdict attributes (EPSG:4490), then the site file's own columns
    (``source``); error rows keep a null geometry."""
    frame = with_source(summary_frame(results), source)
    geoms = [shapely.from_wkt(r.site.wkt) if r.site.wkt else None for r in results]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4490)
