"""``zoning carbon stock|program``: forest carbon in areas, and the programmes' sink gains."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.api import load_layers, program, stock
from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, OVERWRITE_OPTION, ZoningGroup, compute_options
from zoning.errors import ZoningError
from zoning.export.carbon import write_program_outputs, write_stock_outputs
from zoning.render.table import format_table


@click.group(cls=ZoningGroup)
def carbon() -> None:
    """Forest carbon: stock in areas, and the forest programmes' sink gains."""


@carbon.command("stock")
@click.argument("areas")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for stock.csv, stock.gpkg and the totals.")
@click.option("--raster", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Carbon density raster (default: the catalog's forest_carbon layer).")
@click.option("--units", default=None, help='Density units when the raster does not declare them, e.g. "t C/ha".')
@click.option("--by", "by_field", default=None, help="Also total by this field of AREAS.")
@click.option("--ensemble", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Multi-band raster of density realisations on the same grid: adds P2.5/P50/P97.5 of the stock.")
@click.option("--crs", default=None, help="CRS of AREAS when the file has none.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
@compute_options
def carbon_stock_cmd(areas, out_dir, raster, units, by_field, ensemble, crs, workers, overwrite, catalog, engine,
                     compute, scheduler):
    """Carbon stock per feature of AREAS (t C, t CO2), with totals by county."""
    from zoning.io.atomic import check_folder_writable

    check_folder_writable(out_dir, overwrite=overwrite)  # refuse before any work
    stocks = stock(areas, raster, catalog=catalog, units=units, crs=crs, ensemble=ensemble, workers=workers,
                   compute=compute, scheduler=scheduler, engine=engine)
    if by_field and by_field not in stocks.columns:
        raise ZoningError(f"字段 {by_field!r} 不在 {areas} 中", f"field {by_field!r} is not in {areas}; fields: "
                          f"{', '.join(c for c in stocks.columns if c != 'geometry')}")
    totals = write_stock_outputs(stocks, out_dir, by_field=by_field, overwrite=overwrite)
    for name, table in totals.items():
        click.echo(f"\n{name}")
        click.echo(format_table(table.itertuples(index=False), list(table.columns)))
    click.echo(f"\n已写出 / wrote {out_dir}", err=True)


@carbon.command("program")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for program.json, CSV/XLSX tables, chart, selection layer and HTML summary.")
@click.option("--scenario", "scenarios", type=float, multiple=True,
              help="Target sink rate r_target in t CO2/ha/yr, repeatable (default 2.77 and 3.86; the first is primary).")
@click.option("--target-ha", type=click.FloatRange(min=1), default=30_000.0, show_default=True,
              help="Programme area (ha); split 2021-2025 evenly unless --schedule is given.")
@click.option("--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV year,area_ha of treated area per year (default 6,000 ha/yr 2021-2025).")
@click.option("--quota", "quota_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV county,quota_ha (default: split by county forest area).")
@click.option("--min-stand-ha", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Smallest contiguous stand selected (ha).")
@click.option("--buyback-ha", type=click.FloatRange(min=0), default=16_700.0, show_default=True,
              help="商品林赎买 area (ha).")
@click.option("--harvest-rotation", type=float, default=None, help="Harvest baseline: rotation (years).")
@click.option("--harvest-stock", type=float, default=None, help="Harvest baseline: carbon removed per ha (t C/ha).")
@click.option("--draws", type=click.IntRange(min=100), default=10_000, show_default=True, help="Monte Carlo draws.")
@click.option("--seed", type=int, default=20211025, show_default=True, help="Monte Carlo seed.")
@click.option("--plateau-years", type=click.FloatRange(min=0), default=None,
              help="Saturating curve: years at full gain before it decays.")
@click.option("--saturation-years", type=click.FloatRange(min=0.1), default=None,
              help="Saturating curve: e-folding time (years) of the decay after the plateau.")
@click.option("--horizon", type=click.IntRange(min=2025, max=2100), default=2060, show_default=True)
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
def carbon_program_cmd(out_dir, scenarios, target_ha, schedule_path, quota_path, min_stand_ha, buyback_ha,
                       harvest_rotation, harvest_stock, draws, seed, plateau_years, saturation_years, horizon,
                       overwrite, catalog, engine):
    """Sink gain of the 30,000 ha forest-quality programme and the 16,700 ha buy-back."""
    from zoning.io.atomic import check_folder_writable

    check_folder_writable(out_dir, overwrite=overwrite)  # refuse before any work
    options = dict(target_ha=target_ha, schedule=schedule_path, quota=quota_path, min_stand_ha=min_stand_ha,
                   buyback_ha=buyback_ha, harvest_rotation=harvest_rotation, harvest_stock=harvest_stock, draws=draws,
                   seed=seed, plateau_years=plateau_years, saturation_years=saturation_years, horizon=horizon)
    if scenarios:
        options["scenarios"] = scenarios
    result = program(layers=load_layers(catalog, engine=engine), **options)
    write_program_outputs(result, out_dir, overwrite=overwrite)
    d = result.to_dict()
    rows = []
    for s in d["scenarios"].values():
        for y in ("2025", "2030", "2060"):
            r = next((x for x in s["annual"] if str(x["year"]) == y), None)
            if r:
                rows.append((s["r_target"], y, f"{r['additional_tCO2']:,.0f}", f"{r['cumulative_tCO2']:,.0f}",
                             f"{r['cumulative_p2_5']:,.0f} – {r['cumulative_p97_5']:,.0f}",
                             f"{r['share_of_2020_emissions']:.3%}"))
    click.echo(format_table(rows, ["r_target (t CO2/ha/yr)", "年 year", "年增汇 t CO2/yr", "累计 t CO2",
                                   "累计 95% t CO2", "占2020排放"]))
    bb = d["buyback"]
    click.echo(f"\n候选区 selection: {d['selection']['selected_ha']:,.0f} ha / target {target_ha:,.0f} ha "
               f"({d['selection']['match']:+.2%}); 赎买 buy-back gross sink {bb['gross_sink_tCO2_per_yr']:,.0f} t CO2/yr "
               f"(not additional without a harvest baseline); overlap {bb['overlap_with_quality_ha']:,.1f} ha")
    click.echo(f"已写出 / wrote {out_dir}", err=True)
