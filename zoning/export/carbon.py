"""Files of the carbon commands: the stock tables and the programme estimate, each folder written whole."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zoning.carbon.run import ProgramResult
from zoning.io.atomic import staged_folder
from zoning.io.vector import write_vector

#: per-feature columns of stock.csv, in order (units: ha, t C, t CO2, t C/ha, pixels, ha, ha, ratio)
STOCK_COLUMNS = ["id", "forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "pixels", "covered_ha", "area_ha",
                 "coverage_diff", "flags"]
SUM_COLUMNS = ["forest_ha", "stock_tC", "stock_tCO2", "area_ha"]
SPREAD_COLUMNS = ["stock_tC_p2_5", "stock_tC_p50", "stock_tC_p97_5"]
PROGRAM_FILES = ("program.json", "program_annual.csv", "program_by_county.csv", "program.xlsx",
                 "program_chart.png", "selection.gpkg", "program.html")


def stock_table(stocks: gpd.GeoDataFrame, by_field: str | None = None) -> pd.DataFrame:
    """The per-feature table of ``zoning.stock`` output, in the column order of stock.csv."""
    extra = ["county"] + ([by_field] if by_field else [])
    spread = [c for c in SPREAD_COLUMNS if c in stocks]
    return pd.DataFrame(stocks[STOCK_COLUMNS + spread + [c for c in extra if c in stocks]])


def stock_totals(stocks: pd.DataFrame, by: str = "county") -> pd.DataFrame:
    """Totals of forest area (ha), stock (t C, t CO2) and area (ha) by ``by``, with a total row."""
    grouped = stocks.groupby(by, dropna=False)[SUM_COLUMNS].sum().reset_index()
    grouped.insert(1, "features", stocks.groupby(by, dropna=False).size().to_numpy())
    grouped["mean_tC_ha"] = (grouped["stock_tC"] / grouped["forest_ha"].where(grouped["forest_ha"] > 0)).fillna(0.0)
    total = {by: "合计 total", "features": len(stocks), **{c: stocks[c].sum() for c in SUM_COLUMNS}}
    total["mean_tC_ha"] = total["stock_tC"] / total["forest_ha"] if total["forest_ha"] > 0 else 0.0
    return pd.concat([grouped, pd.DataFrame([total])], ignore_index=True).round(4)


def write_stock_outputs(stocks: gpd.GeoDataFrame, out_dir: Path | str, *, by_field: str | None = None,
                        overwrite: bool = False) -> dict[str, pd.DataFrame]:
    """stock.csv (UTF-8 BOM) + stock.gpkg in input order, stock_by_county.csv, stock_by_<field>.csv.

    ``stocks`` is what :func:`zoning.stock` returns (with its ``county`` column). Returns the
    totals tables that were written, by name.
    """
    table = stock_table(stocks, by_field)
    totals = {"stock_by_county": stock_totals(table, "county")}
    if by_field:
        totals[f"stock_by_{by_field}"] = stock_totals(table, by_field)
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        table.round(6).to_csv(stage / "stock.csv", index=False, encoding="utf-8-sig")
        write_vector(gpd.GeoDataFrame(table, geometry=stocks.geometry.values, crs=stocks.crs).to_crs(4490),
                     stage / "stock.gpkg", driver="GPKG", layer="stock")
        for name, frame in totals.items():
            frame.to_csv(stage / f"{name}.csv", index=False, encoding="utf-8-sig")
    return totals


def write_program_outputs(result: ProgramResult, out_dir: Path | str, *, overwrite: bool = False) -> list[Path]:
    """program.json, CSV/XLSX tables, chart, selection layers and HTML summary, written whole into ``out_dir``."""
    import pyogrio

    from zoning.render.programme import chart_png, summary_html

    out_dir = Path(out_dir)
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        (stage / "program.json").write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=float),
                                            encoding="utf-8")
        annual, county, params = result.annual_table(), result.county_table(), result.parameter_table()
        annual.to_csv(stage / "program_annual.csv", index=False, encoding="utf-8-sig")
        county.to_csv(stage / "program_by_county.csv", index=False, encoding="utf-8-sig")
        with pd.ExcelWriter(stage / "program.xlsx", engine="openpyxl") as xl:
            annual.to_excel(xl, sheet_name="annual", index=False)
            county.to_excel(xl, sheet_name="by_county", index=False)
            params.to_excel(xl, sheet_name="parameters", index=False)
            result.quality.by_county.to_excel(xl, sheet_name="selection", index=False)
        chart = chart_png(result)
        (stage / "program_chart.png").write_bytes(chart)
        pyogrio.write_dataframe(result.quality.stands, stage / "selection.gpkg", layer="quality", driver="GPKG")
        if result.buyback is not None and len(result.buyback.stands):
            pyogrio.write_dataframe(result.buyback.stands, stage / "selection.gpkg", layer="buyback", driver="GPKG")
        (stage / "program.html").write_text(summary_html(result, chart), encoding="utf-8")
    return [out_dir / n for n in PROGRAM_FILES]
