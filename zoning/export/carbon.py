"""Files written by `zoning carbon stock`: per-feature table, GeoPackage and totals."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from zoning.io.atomic import atomic_path
from zoning.carbon.density import stock
from zoning.errors import OutputExists, ZoningError
from zoning.io.vector import write_vector
from zoning.geo.locate import locate_sites

STOCK_COLUMNS = ["id", "forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "pixels", "covered_ha", "area_ha",
                 "coverage_diff", "flags"]
SUM_COLUMNS = ["forest_ha", "stock_tC", "stock_tCO2", "area_ha"]


def _totals(table: pd.DataFrame, key: str) -> pd.DataFrame:
    grouped = table.groupby(key, dropna=False)[SUM_COLUMNS].sum().reset_index()
    grouped.insert(1, "features", table.groupby(key, dropna=False).size().to_numpy())
    grouped["mean_tC_ha"] = (grouped["stock_tC"] / grouped["forest_ha"].where(grouped["forest_ha"] > 0)).fillna(0.0)
    total = {key: "合计 total", "features": len(table), **{c: table[c].sum() for c in SUM_COLUMNS}}
    total["mean_tC_ha"] = total["stock_tC"] / total["forest_ha"] if total["forest_ha"] > 0 else 0.0
    return pd.concat([grouped, pd.DataFrame([total])], ignore_index=True).round(4)


def write_stock_outputs(polygons: gpd.GeoDataFrame, raster, out_dir: Path | str, *, units: str | None = None,
                        by_field: str | None = None, admin: gpd.GeoDataFrame | None = None,
                        workers: int | None = None, overwrite: bool = False, compute: str = "local",
                        scheduler: str | None = None, ensemble=None) -> dict[str, pd.DataFrame]:
    """stock.csv (UTF-8 BOM) + stock.gpkg in input order, stock_by_county.csv, stock_by_<field>.csv."""
    out_dir = Path(out_dir)
    names = ["stock.csv", "stock.gpkg", "stock_by_county.csv"] + ([f"stock_by_{by_field}.csv"] if by_field else [])
    existing = [out_dir / n for n in names if (out_dir / n).exists()]
    if existing and not overwrite:
        raise OutputExists(f"输出已存在：{existing[0]}；如需覆盖请加 --overwrite",
                           f"output exists: {existing[0]}; pass --overwrite to replace it")
    if compute == "dask":
        if ensemble is not None:
            raise ZoningError("集合栅格暂不支持 Dask 引擎", "--ensemble is not supported with --engine dask yet")
        from zoning.engines.dask_engine import stock_dask

        result = stock_dask(polygons, raster, units=units, scheduler=scheduler)
    else:
        result = stock(polygons, raster, units=units, workers=workers, ensemble=ensemble)
    located = locate_sites(polygons.reset_index(drop=True), admin)
    result["county"] = located["county"].to_numpy()
    if by_field:
        result[by_field] = polygons[by_field].to_numpy()
    extra = ["county"] + ([by_field] if by_field else [])
    spread = [c for c in ("stock_tC_p2_5", "stock_tC_p50", "stock_tC_p97_5") if c in result]
    table = pd.DataFrame(result[STOCK_COLUMNS + spread + extra])
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "stock.csv") as tmp:
        table.round(6).to_csv(tmp, index=False, encoding="utf-8-sig")
    write_vector(gpd.GeoDataFrame(table, geometry=result.geometry.values, crs=result.crs).to_crs(4490),
                 out_dir / "stock.gpkg", driver="GPKG", layer="stock")
    totals = {"stock_by_county": _totals(table, "county")}
    if by_field:
        totals[f"stock_by_{by_field}"] = _totals(table, by_field)
    for name, frame in totals.items():
        with atomic_path(out_dir / f"{name}.csv") as tmp:
            frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    return totals
