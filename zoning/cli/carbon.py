"""``zoning carbon stock|program``: forest carbon in areas, and the programmes' sink gains."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.escape import terminal_text
from zoning.api import load_layers, program, stock
from zoning.cli._common import (CATALOG_OPTION, ENGINE_OPTION, EXIT_OK, EXIT_PARTIAL, LANG_OPTION, OVERWRITE_OPTION, ZoningGroup,
                                compute_options)
from zoning.errors import ZoningError
from zoning.export.carbon import coverage_summary, stock_table, write_program_outputs, write_stock_outputs
from zoning.render.programme import console_summary
from zoning.render.table import format_table


@click.group(cls=ZoningGroup)
def carbon() -> None:
    """Forest carbon: stock in areas, and the forest programmes' sink gains."""


@carbon.command("stock")
@click.argument("areas")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for stock.csv, stock.gpkg, the totals and stock_summary.json.")
@click.option("--layer", default=None, help="Layer of AREAS to read (multi-layer GeoPackage).")
@click.option("--id-field", default=None,
              help="Field of AREAS that names each feature (e.g. 小班号); default: a stand/parcel id field, else 1..n.")
@click.option("--raster", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Carbon density raster (default: the catalog's forest_carbon layer).")
@click.option("--units", default=None, help='Density units when the raster does not declare them, e.g. "t C/ha".')
@click.option("--by", "by_field", default=None, help="Also total by this field of AREAS.")
@click.option("--ensemble", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Multi-band raster of density realisations on the same grid: adds P2.5/P50/P97.5 of the stock.")
@click.option("--raster-before", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Density raster of the earlier inventory: with --raster-after, the stock change per feature.")
@click.option("--raster-after", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Density raster of the later inventory (also the stock reported when --raster is not given).")
@click.option("--year-before", type=click.IntRange(1950, 2200), default=None,
              help="Year of --raster-before (default: its year/vintage tag).")
@click.option("--year-after", type=click.IntRange(1950, 2200), default=None,
              help="Year of --raster-after (default: its year/vintage tag).")
@click.option("--crs", default=None, help="CRS of AREAS when the file has none (or overriding a wrong one); "
              "the outputs stay in it.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
@compute_options
def carbon_stock_cmd(areas, out_dir, layer, id_field, raster, units, by_field, ensemble, raster_before, raster_after,
                     year_before, year_after, crs, workers, overwrite, catalog, engine, compute, scheduler):
    """Carbon stock per feature of AREAS (t C, t CO2), ids, attributes and CRS kept; totals by county
    with the share of the area the raster covers."""
    from zoning.io.atomic import check_folder_writable

    check_folder_writable(out_dir, overwrite=overwrite)  # refuse before any work
    stocks = stock(areas, raster, catalog=catalog, units=units, id_field=id_field, layer=layer, crs=crs,
                   ensemble=ensemble, workers=workers, compute=compute, scheduler=scheduler, engine=engine,
                   raster_before=raster_before, raster_after=raster_after, year_before=year_before,
                   year_after=year_after)
    if by_field and by_field not in stocks.columns:
        raise ZoningError(f"字段 {by_field!r} 不在 {areas} 中", f"field {by_field!r} is not in {areas}; fields: "
                          f"{', '.join(str(c) for c in stocks.columns if c != 'geometry')}")
    totals = write_stock_outputs(stocks, out_dir, by_field=by_field, overwrite=overwrite)
    for message in stocks.attrs.get("warnings", []):
        click.echo(terminal_text(f"提示 / note: {message}"), err=True)
    for name, table in totals.items():
        click.echo("")
        click.echo(terminal_text(name))
        shown = table.assign(covered_share=table["covered_share"].map(  # no measured stand: NA, not 0 or nan
            lambda v: "—" if v != v else f"{v:.1%}")).astype(object).where(lambda f: f.notna(), "NA")
        click.echo(format_table(shown.itertuples(index=False), list(shown.columns)))
    cov = _echo_coverage(stocks)
    meta = stocks.attrs.get("stock_change")
    if meta:
        change = stocks["change_tCO2"]
        click.echo("")
        click.echo(terminal_text(f"存量变化 stock change {meta['raster_before']} ({meta['year_before'] or '?'}) → "
                                 f"{meta['raster_after']} ({meta['year_after'] or '?'}): {change.sum():,.1f} t CO2 over "
                                 f"{meta['complete']} fully covered feature(s); {meta['incomplete']} NA (not fully "
                                 f"covered)"))
    click.echo(f"\n已写出 / wrote {out_dir}", err=True)
    raise SystemExit(_exit_code(stocks))


def _exit_code(stocks) -> int:
    """1 when a row's geometry is broken (no geometry, NaN/inf coordinates, outside China): it failed, its row says
    so; points and lines are not failures, they simply have no stock (NA)."""
    broken = stocks["flags"].fillna("").str.contains(r"\b(?:bad_coordinates|no_geometry|outside_china)\b")
    return EXIT_PARTIAL if broken.any() else EXIT_OK


def _echo_coverage(stocks) -> dict:
    """Warn on stderr about features without (full) data and features that are not polygons."""
    cov = coverage_summary(stock_table(stocks))
    if not cov["complete"]:
        share = cov["covered_share"]
        na, part = cov["not_measured"], cov["partly_measured"]
        click.echo(
            f"警告：覆盖不完整——碳密度栅格覆盖面积的 {share:.1%}；{len(na)} 个面要素无数据（NA，不是 0），"
            f"{len(part)} 个部分无数据；合计只含已测部分 / warning: incomplete coverage — the raster covers "
            f"{share:.1%} of the area; {len(na)} polygon(s) have no data (NA, not 0) and {len(part)} only partly; "
            f"totals hold the measured parts only" + (f" (no data: {', '.join(na[:5])}"
                                                      f"{' …' if len(na) > 5 else ''})" if na else ""), err=True)
    if cov["not_a_polygon"]:
        click.echo(f"提示：{len(cov['not_a_polygon'])} 个要素不是面，没有储量（NA） / note: "
                   f"{len(cov['not_a_polygon'])} feature(s) are not polygons: no stock (NA)", err=True)
    return cov


def _deduction(value: str) -> str | float:
    text = str(value).strip().lower()
    if text in ("auto", "none", "off"):
        return "none" if text == "off" else text
    try:
        number = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use auto, none or a share such as 0.06") from None
    return number


@carbon.command("program")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for program.json, CSV/XLSX tables, chart, selection layers and program.html.")
@click.option("--stands", "stands", default=None,
              help="Programme stands (小班): GeoPackage/Shapefile/GeoJSON polygons in any CRS, or a CSV/XLSX table "
                   "with area and county. Fields understood: 小班号/id, 项目/program (森林质量精准提升 or 商品林赎买), "
                   "树种/forest_type (杉木, 马尾松, 阔叶林 …), 林龄/age, 实施年度/year, 县/county or 区县代码/county_code, "
                   "面积/area_ha. Default: the catalog's program layer, else stands chosen by rule.")
@click.option("--layer", "stands_layer", default=None, help="Layer of --stands to read.")
@click.option("--id-field", default=None, help="Field of --stands naming each stand (default: 小班号, stand_id, id …).")
@click.option("--crs", "stands_crs", default=None, help="CRS of --stands when the file has none.")
@click.option("--scenario", "scenarios", type=float, multiple=True,
              help="Target sink rate r_target in t CO2/ha/yr, repeatable (default 2.77 and 3.86; the first is primary).")
@click.option("--r-base", type=float, default=1.97, show_default=True, help="Baseline sink rate, t CO2/ha/yr.")
@click.option("--growth", type=click.Choice(["plan", "curve"]), default="plan", show_default=True,
              help="plan: the plan's constant rates; curve: Chapman-Richards growth per forest type and age.")
@click.option("--growth-curves", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV forest_type,A,k,p[,rotation,default_age,source] replacing the default curves.")
@click.option("--target-ha", type=float, default=30_000.0, show_default=True,
              help="Programme area (ha) when stands are chosen by rule; split 2021-2025 evenly unless --schedule.")
@click.option("--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV/XLSX year,area_ha of treated area per year (UTF-8 or GBK; with --stands: the yearly shares).")
@click.option("--quota", "quota_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV/XLSX county,quota_ha (UTF-8 or GBK; default: split by county forest area).")
@click.option("--min-stand-ha", type=float, default=5.0, show_default=True,
              help="Smallest contiguous stand selected by rule (ha).")
@click.option("--buyback-ha", type=float, default=16_700.0, show_default=True,
              help="商品林赎买 area (ha) when stands are chosen by rule.")
@click.option("--harvest-rotation", type=float, default=None,
              help="Buy-back harvest baseline: rotation (years; default per forest type when stands give ages).")
@click.option("--harvest-stock", type=float, default=None,
              help="Buy-back harvest baseline: carbon removed per ha (t C/ha; default: the stands' measured density).")
@click.option("--harvest-intensity", type=float, default=1.0, show_default=True,
              help="Share of the stock removed at harvest in the buy-back baseline (1 = clear-cut).")
@click.option("--leakage-quality", type=float, default=0.0, show_default=True,
              help="Leakage share of the quality programme (0 under the CCER forest-management conditions).")
@click.option("--leakage-buyback", type=float, default=0.40, show_default=True,
              help="Market-leakage share of the buy-back's avoided harvest.")
@click.option("--buffer", type=float, default=0.10, show_default=True,
              help="Permanence (reversal-risk) buffer share held back from creditable removals.")
@click.option("--conservativeness", type=str, default="auto", show_default=True,
              help="auto (CCER-style DR from the uncertainty), none, or a fixed share such as 0.06.")
@click.option("--rate-u95", type=float, default=0.10, show_default=True,
              help="95 % half-width of each sink rate, as a share (IPCC 2006 Vol.1 Ch.3 convention).")
@click.option("--area-u95", type=float, default=0.05, show_default=True,
              help="95 % half-width of the treated area, as a share.")
@click.option("--raster-before", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Density raster of an earlier inventory: with --raster-after, the stock-difference check.")
@click.option("--raster-after", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Density raster of a later inventory.")
@click.option("--year-before", type=int, default=None, help="Year of --raster-before.")
@click.option("--year-after", type=int, default=None, help="Year of --raster-after.")
@click.option("--draws", type=int, default=10_000, show_default=True, help="Monte Carlo draws.")
@click.option("--seed", type=int, default=20211025, show_default=True, help="Monte Carlo seed.")
@click.option("--plateau-years", type=float, default=None,
              help="Saturating curve (plan rates): years at full gain before it decays.")
@click.option("--saturation-years", type=float, default=None,
              help="Saturating curve (plan rates): e-folding time (years) of the decay after the plateau.")
@click.option("--horizon", type=int, default=2060, show_default=True)
@LANG_OPTION
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
def carbon_program_cmd(out_dir, stands, stands_layer, id_field, stands_crs, scenarios, r_base, growth, growth_curves,
                       target_ha, schedule_path, quota_path, min_stand_ha, buyback_ha, harvest_rotation, harvest_stock,
                       harvest_intensity, leakage_quality, leakage_buyback, buffer, conservativeness, rate_u95,
                       area_u95, raster_before, raster_after, year_before, year_after, draws, seed, plateau_years,
                       saturation_years, horizon, lang, overwrite, catalog, engine):
    """Forest-carbon accounting of the 森林质量精准提升 programme and the 商品林赎买 buy-back: baseline and
    project scenarios, leakage, conservativeness, permanence buffer, double-counting guard, uncertainty."""
    from zoning.io.atomic import check_folder_writable

    check_folder_writable(out_dir, overwrite=overwrite)  # refuse before any work
    options = dict(target_ha=target_ha, schedule=schedule_path, quota=quota_path, min_stand_ha=min_stand_ha,
                   buyback_ha=buyback_ha, harvest_rotation=harvest_rotation, harvest_stock=harvest_stock,
                   harvest_intensity=harvest_intensity, draws=draws, seed=seed, plateau_years=plateau_years,
                   saturation_years=saturation_years, horizon=horizon, stands=stands, stands_layer=stands_layer,
                   id_field=id_field, stands_crs=stands_crs, r_base=r_base, growth=growth,
                   growth_curves=growth_curves, leakage_quality=leakage_quality, leakage_buyback=leakage_buyback,
                   buffer=buffer, conservativeness=_deduction(conservativeness), rate_u95=rate_u95,
                   area_u95=area_u95, raster_before=raster_before, raster_after=raster_after,
                   year_before=year_before, year_after=year_after, engine=engine)
    if scenarios:
        options["scenarios"] = scenarios
    result = program(layers=load_layers(catalog, engine=engine), **options)
    write_program_outputs(result, out_dir, overwrite=overwrite, lang=lang)
    for message in result.warnings:
        click.echo(f"警告 / warning: {message}", err=True)
    click.echo(console_summary(result))
    click.echo(f"已写出 / wrote {out_dir}", err=True)
