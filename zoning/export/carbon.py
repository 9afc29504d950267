"""Files of the carbon commands: the stock tables and the programme estimate, each folder written whole."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from zoning.carbon.run import ProgramResult
from zoning.errors import OutputProblem, ZoningError
from zoning.escape import csv_frame, dumps_strict, inside, xlsx_frame
from zoning.io.atomic import staged_folder
from zoning.io.vector import write_vector

#: per-feature columns of stock.csv, in order (units: ha, t C, t CO2, t C/ha, pixels, ha, ha, share, ha, ratio)
STOCK_COLUMNS = ["id", "forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "pixels", "covered_ha", "valid_ha",
                 "coverage_share", "area_ha", "coverage_diff", "flags"]
SUM_COLUMNS = ["forest_ha", "stock_tC", "stock_tCO2", "area_ha"]
SPREAD_COLUMNS = ["stock_tC_p2_5", "stock_tC_p50", "stock_tC_p97_5"]
CHANGE_COLUMNS = ["stock_before_tC", "stock_after_tC", "change_tC", "change_tCO2", "change_tCO2_per_yr",
                  "coverage_before", "coverage_after"]
PROGRAM_FILES = ("program.json", "program_annual.csv", "program_by_county.csv", "program_by_type.csv",
                 "program_parameters.csv", "program_stands.csv", "program.xlsx", "program_chart.png",
                 "selection.gpkg", "program.html")
#: below this covered share a total is called incomplete
COMPLETE_SHARE = 0.999


def stock_table(stocks: gpd.GeoDataFrame, by_field: str | None = None) -> pd.DataFrame:
    """The per-feature table of ``zoning.stock`` output in the column order of stock.csv: the computed
    columns, ``county``, the stock change when present, then every input attribute as given."""
    first = [c for c in STOCK_COLUMNS if c in stocks] + [c for c in SPREAD_COLUMNS if c in stocks]
    first += [c for c in ["county"] + CHANGE_COLUMNS if c in stocks]
    rest = [c for c in stocks.columns if c not in first and c != stocks.geometry.name]
    if by_field and by_field not in first + rest:
        rest.append(by_field)
    return pd.DataFrame(stocks[first + rest])


def stock_totals(stocks: pd.DataFrame, by: str = "county") -> pd.DataFrame:
    """Totals by ``by`` with a 合计 total row: ``features``, ``features_measured``, ``features_na`` (no
    raster data at all: outside the raster, nodata only, or not a polygon), ``features_partial``
    (part of the footprint without data), ``area_ha``
    (ha), ``covered_share`` (share of the area with raster data), ``forest_ha`` (ha), ``stock_tC``
    (t C), ``stock_tCO2`` (t CO2) and ``mean_tC_ha`` (t C/ha of forest). Stocks sum the measured
    parts only: a covered share below 1 means the total is incomplete, never that the rest is 0."""
    import numpy as np

    frame = pd.DataFrame(stocks).copy()
    share = frame["coverage_share"] if "coverage_share" in frame else pd.Series(1.0, index=frame.index)
    share = share.fillna(0.0).astype(float)
    area = frame["area_ha"].fillna(0.0).astype(float)
    frame["_covered"] = share * area
    frame["_measured"] = frame["stock_tC"].notna()
    frame["_na"] = ~frame["_measured"]
    frame["_partial"] = frame["_measured"] & (share < 1.0)
    key = frame[by].astype(object).where(frame[by].notna(), "（未知 unknown）")
    groups = frame.groupby(key, dropna=False, sort=True)
    rows = []
    for name, g in list(groups) + [("合计 total", frame)]:
        a = float(g["area_ha"].sum())
        measured = int(g["_measured"].sum())
        na = 1.0 if measured else np.nan  # no measured stand in the group: NA, not 0
        rows.append({by: name, "features": int(len(g)), "features_measured": measured,
                     "features_na": int(g["_na"].sum()), "features_partial": int(g["_partial"].sum()),
                     "area_ha": a, "covered_share": float(g["_covered"].sum() / a) if a > 0 else np.nan,
                     "forest_ha": float(g["forest_ha"].sum()) * na, "stock_tC": float(g["stock_tC"].sum()) * na,
                     "stock_tCO2": float(g["stock_tCO2"].sum()) * na})
    out = pd.DataFrame(rows)
    out["mean_tC_ha"] = out["stock_tC"] / out["forest_ha"].where(out["forest_ha"] > 0)  # no forest: NA
    return out.round(6)


def coverage_summary(stocks: pd.DataFrame) -> dict:
    """How completely the raster covered the footprints: the covered share, and the ids of the
    polygons with no data (NA) or only partly covered; points and lines are listed apart."""
    total = stock_totals(stocks, "county" if "county" in stocks else "id").iloc[-1]
    flags = stocks["flags"].astype(str).str.split(";")
    has = lambda name: flags.map(lambda f: name in f)  # noqa: E731
    polygon = ~has("not_a_polygon")
    na = stocks["stock_tC"].isna() & polygon
    partial = stocks["stock_tC"].notna() & (stocks["coverage_share"].fillna(0) < 1.0)
    share = total["covered_share"]
    return {"features": int(total["features"]), "covered_share": share,
            "complete": bool((share != share or share >= COMPLETE_SHARE) and not na.any() and not partial.any()),
            "not_measured": stocks.loc[na, "id"].astype(str).tolist(),
            "partly_measured": stocks.loc[partial, "id"].astype(str).tolist(),
            "not_a_polygon": stocks.loc[~polygon, "id"].astype(str).tolist(),
            "outside_raster": int(has("outside_raster").sum()), "partly_outside_raster": int(has("partly_outside_raster").sum()),
            "nodata_only": int(has("nodata_only").sum())}


def _output_error(out_dir, exc) -> OutputProblem:
    reason = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return OutputProblem(f"无法写入输出目录 {out_dir}：{reason}（磁盘已满或无写权限？）；未写出任何文件",
                         f"cannot write output folder {out_dir}: {reason} (disk full or no permission?); "
                         f"nothing was written")


def _write_errors():
    """Exceptions that mean "this folder cannot be written" (disk full, permissions, driver I/O)."""
    import pyogrio.errors

    return (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError)


def write_stock_outputs(stocks: gpd.GeoDataFrame, out_dir: Path | str, *, by_field: str | None = None,
                        overwrite: bool = False) -> dict[str, pd.DataFrame]:
    """stock.csv (UTF-8 BOM) + stock.gpkg (input order, input CRS, every input attribute),
    stock_by_county.csv, stock_by_<field>.csv and stock_summary.json (coverage, strict JSON).

    ``stocks`` is what :func:`zoning.stock` returns (with its ``county`` column). Returns the
    totals tables that were written, by name. Nothing is written unless everything is.
    """
    table = stock_table(stocks, by_field)
    totals = {"stock_by_county": stock_totals(table, "county")}
    if by_field:
        totals[f"stock_by_{by_field}"] = stock_totals(table, by_field)
    summary = {"coverage": coverage_summary(table), "totals": totals["stock_by_county"].iloc[-1].to_dict(),
               "crs": stocks.crs.to_string() if stocks.crs is not None else None,
               "warnings": list(stocks.attrs.get("warnings", [])),
               "stock_change": stocks.attrs.get("stock_change"),
               "units": {"stock_tC": "t C", "stock_tCO2": "t CO2", "area_ha": "ha", "covered_share": "share 0-1"},
               "note": "stands without raster data have NA stock (not 0); totals sum the measured parts only"}
    try:
        with staged_folder(out_dir, overwrite=overwrite) as stage:
            computed = [c for c in STOCK_COLUMNS + SPREAD_COLUMNS + CHANGE_COLUMNS if c in table and c != "id"]
            csv_frame(table.assign(**{c: table[c].round(6) for c in computed if c != "flags"})).to_csv(
                stage / "stock.csv", index=False, encoding="utf-8-sig")  # ids/attributes never run as formulas
            gpkg = gpd.GeoDataFrame(table, geometry=stocks.geometry.values, crs=stocks.crs)
            write_vector(gpkg, stage / "stock.gpkg", driver="GPKG", layer="stock")
            for name, frame in totals.items():  # a --by field is data: its file name stays inside the folder
                csv_frame(frame).to_csv(inside(stage, name, ".csv"), index=False, encoding="utf-8-sig")
            (stage / "stock_summary.json").write_text(dumps_strict(summary, indent=2), encoding="utf-8")
    except ZoningError:
        raise
    except _write_errors() as exc:
        raise _output_error(out_dir, exc) from None
    return totals


#: the data dictionary of the programme tables: column -> (中文, meaning, unit)
PROGRAM_DICTIONARY = {
    "year": ("年份", "calendar year", "yr"),
    "treated_area_ha": ("已实施面积", "area treated by this year (cumulative)", "ha"),
    "effective_area_ha": ("有效面积", "Σ A_c·g_c(t): treated area weighted by the growth modifier", "ha"),
    "baseline_tCO2": ("基线清除量", "baseline scenario removals", "t CO2/yr"),
    "project_tCO2": ("项目清除量", "project scenario removals", "t CO2/yr"),
    "additional_tCO2": ("额外碳汇（毛）", "gross additional removals = project − baseline", "t CO2/yr"),
    "cumulative_tCO2": ("累计额外碳汇", "cumulative gross additional removals", "t CO2"),
    "p2_5": ("P2.5", "Monte Carlo 2.5th percentile of the gross additional removals", "t CO2/yr"),
    "p50": ("P50", "Monte Carlo median", "t CO2/yr"),
    "p97_5": ("P97.5", "Monte Carlo 97.5th percentile", "t CO2/yr"),
    "approach1_p2_5": ("方法1 下限", "Approach 1 lower 95 % bound", "t CO2/yr"),
    "approach1_p97_5": ("方法1 上限", "Approach 1 upper 95 % bound", "t CO2/yr"),
    "approach1_u95": ("方法1 相对半宽", "Approach 1 95 % half-width relative to the value", "share"),
    "leakage_tCO2": ("泄漏", "leakage deduction = λ·max(gross, 0)", "t CO2/yr"),
    "net_tCO2": ("净碳汇", "net removals = gross − leakage", "t CO2/yr"),
    "registered_excluded_tCO2": ("已登记剔除", "net removals of stands on registered carbon projects", "t CO2/yr"),
    "conservativeness_tCO2": ("保守性扣减", "DR × eligible net removals", "t CO2/yr"),
    "buffer_tCO2": ("风险缓冲", "permanence buffer = b × (eligible net − conservativeness)", "t CO2/yr"),
    "creditable_tCO2": ("可签发量", "eligible net − conservativeness − buffer", "t CO2/yr"),
    "share_of_2020_emissions": ("占2020年排放", "gross additional / 10.75 Mt CO2 (2020)", "share"),
    "u_convention": ("不确定性约定", "uncertainties are 95 % CI half-widths (IPCC 2006 Vol.1 Ch.3)", ""),
}


def write_program_outputs(result: ProgramResult, out_dir: Path | str, *, overwrite: bool = False,
                          lang: str = "zh") -> list[Path]:
    """program.json (strict JSON), CSV/XLSX tables, chart, selection layers and the HTML report,
    written whole into ``out_dir`` (nothing is left half-written: a failure keeps the previous folder)."""
    import pyogrio

    from zoning.render.programme import chart_png, summary_html

    out_dir = Path(out_dir)
    data = result.to_dict()
    text = dumps_strict(data, indent=2)
    annual, county, params = result.annual_table(), result.county_table(), result.parameter_table()
    by_type, cohorts, stands = result.type_table(), result.cohort_table(), result.stand_table()
    registered = result.registered.drop(columns=["_pos"], errors="ignore") if result.registered is not None \
        else pd.DataFrame(columns=["stand_id", "programme", "registered_id", "registered_name", "scheme", "overlap_m2",
                                   "overlap_share", "excluded"])
    chart = chart_png(result, lang=lang)
    html = summary_html(result, chart, lang=lang)
    from zoning.render.maps import assert_static_page

    assert_static_page(html)  # the page runs no script and loads nothing, whatever the stands' names
    dictionary = pd.DataFrame([{"column": k, "中文": v[0], "meaning": v[1], "unit": v[2]}
                               for k, v in PROGRAM_DICTIONARY.items()])
    methods = pd.DataFrame({"item": ["convention", "methodology", "double counting", "full-area check"],
                            "text": [data["uncertainty"]["convention"], data["accounting"]["name"],
                                     data["double_counting"]["layer"], data["full_area_check"]["formula"]]})
    try:
        csvs = {name: csv_frame(frame).to_csv(index=False).encode("utf-8-sig") for name, frame in (
            ("program_annual.csv", annual), ("program_by_county.csv", county), ("program_by_type.csv", by_type),
            ("program_parameters.csv", params), ("program_stands.csv", stands))}
        workbook = _workbook(result, chart, [("annual", annual), ("by_county", county), ("by_type", by_type),
                                             ("cohorts", cohorts), ("parameters", params),
                                             ("selection", result.quality.by_county), ("stands", stands),
                                             ("registered", registered)]
                             + ([("reconciliation", pd.DataFrame([result.reconciliation]))]
                                if result.reconciliation else [])
                             + [("methods", pd.concat([methods, dictionary.rename(
                                 columns={"column": "item", "meaning": "text"})], ignore_index=True))], lang=lang)
        with staged_folder(out_dir, overwrite=overwrite) as stage:
            (stage / "program.json").write_text(text, encoding="utf-8")
            for name, payload in csvs.items():
                (stage / name).write_bytes(payload)
            (stage / "program.xlsx").write_bytes(workbook)
            (stage / "program_chart.png").write_bytes(chart)
            for sel, layer in ((result.quality, "quality"), (result.buyback, "buyback")):
                if sel is not None and len(sel.stands) and sel.stands.geometry.notna().any():
                    frame = sel.stands[sel.stands.geometry.notna()]
                    pyogrio.write_dataframe(frame, stage / "selection.gpkg", layer=layer, driver="GPKG")
            (stage / "program.html").write_text(html, encoding="utf-8")
    except ZoningError:
        raise
    except _write_errors() as exc:
        raise _output_error(out_dir, exc) from None
    return [out_dir / n for n in PROGRAM_FILES]


#: Chinese names of the other columns of the programme tables (program.xlsx headers with lang="zh")
COLUMN_ZH = {"programme": "项目", "scenario_r_target": "目标速率 r_target", "county": "县区", "county_code": "区县代码",
             "forest_type": "林分类型", "age": "林龄", "age_class": "龄组", "stand_id": "林分编号", "area_ha": "面积 ha",
             "registered_overlap": "与已登记项目重叠", "creditable": "可签发", "sign": "符号", "scenario": "情景",
             "name": "名称", "value": "数值", "unit": "单位", "distribution": "分布", "u95": "95% 半宽",
             "u95_pct": "95% 半宽 %", "source": "来源", "assumption": "假设", "selected_ha": "已选面积 ha",
             "quota_ha": "配额 ha", "item": "项目", "text": "说明", "approach1_u95_tCO2": "方法1 绝对半宽"}


def _column_zh(code: str) -> str | None:
    """The Chinese name of a programme-table column, composed from the dictionary where it can be."""
    if code in PROGRAM_DICTIONARY:
        return PROGRAM_DICTIONARY[code][0]
    if code in COLUMN_ZH:
        return COLUMN_ZH[code]
    if code.startswith("cumulative_"):
        base = _column_zh(code[len("cumulative_"):])
        return f"累计{base}" if base else None
    for suffix, word in (("_approach1_p2_5", " 方法1 下限"), ("_approach1_p97_5", " 方法1 上限"), ("_p2_5", " P2.5"),
                         ("_p50", " P50"), ("_p97_5", " P97.5")):
        if code.endswith(suffix):
            base = _column_zh(code[: -len(suffix)] + "_tCO2")
            return f"{base}{word}" if base else None
    return None


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Column headers for the workbook: the codes in English; in Chinese 中文名（code）, code kept."""
    if lang == "en":
        return frame
    names = {c: (f"{_column_zh(str(c))}（{c}）" if _column_zh(str(c)) else c) for c in frame.columns}
    return frame.rename(columns=names)


def _workbook(result: ProgramResult, chart: bytes, sheets: list[tuple[str, pd.DataFrame]], lang: str = "zh") -> bytes:
    """program.xlsx in memory: one sheet per table (Chinese headers with the codes in zh, the codes in en),
    and the chart as an image on a sheet of its own."""
    import io

    from openpyxl.drawing.image import Image

    buf = io.BytesIO()
    writer = pd.ExcelWriter(buf, engine="openpyxl")
    for name, frame in sheets:
        # no formulas, no control characters
        _headers(xlsx_frame(frame), lang).to_excel(writer, sheet_name=name, index=False)
    sheet = writer.book.create_sheet("chart")
    sheet.add_image(Image(io.BytesIO(chart)), "A1")
    writer.close()
    return buf.getvalue()
