"""The ``zoning`` command: thin click commands over library functions."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from zoning._version import __version__
from zoning.io.catalog import load_catalog, load_layer
from zoning.errors import ZoningError
from zoning.render.table import format_table

CATALOG_OPTION = click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
                              help="Layer catalog (YAML). Default: $ZONING_CATALOG or ./layers/catalog.yaml.")
ENGINE_OPTION = click.option("--io-engine", "engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio",
                             show_default=True, help="Vector I/O engine.")
COMPUTE_OPTIONS = [
    click.option("--engine", "compute", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                 help="Run here, or on Dask (a LocalCluster, or the cluster at --scheduler)."),
    click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, e.g. tcp://host:8786."),
]


def compute_options(func):
    for option in reversed(COMPUTE_OPTIONS):
        func = option(func)
    return func


class ZoningGroup(click.Group):
    """Turns user errors into one line (Chinese, then English) and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ZoningError as exc:
            click.echo(exc.one_line(), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("已中断 / interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug, not a user error: say so briefly
            if os.environ.get("ZONING_DEBUG"):
                raise
            click.echo(f"内部错误 / internal error: {type(exc).__name__}: {exc} "
                       f"(set ZONING_DEBUG=1 for a traceback and please report it)", err=True)
            sys.exit(3)


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _progress(msg: str) -> None:
    click.echo(f"  · {msg}", err=True)


@click.group(cls=ZoningGroup)
@click.version_option(__version__, prog_name="zoning")
def main() -> None:
    """三线一单 / 生态环境分区管控 screening tool for Nanping (南平市)."""


# ---------------------------------------------------------------------------------------
@main.group(cls=ZoningGroup)
def layers() -> None:
    """List and check the layers of a catalog."""


@layers.command("list")
@CATALOG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def layers_list(catalog, as_json):
    """Print the catalog: role, name, kind, vintage, synthetic, path."""
    cat = load_catalog(catalog)
    records = [spec.as_record() for spec in cat.layers]
    if as_json:
        _echo_json(records)
        return
    click.echo(f"{cat.name}  ({cat.path})")
    rows = [(r["role"], r["role_zh"], r["name"], r["kind"], r["vintage"], "是/yes" if r["synthetic"] else "否/no",
             ("" if Path(r["path"]).exists() else "[missing] ") + r["path"]) for r in records]
    click.echo(format_table(rows, ["role", "角色", "name", "kind", "vintage", "synthetic", "path"], max_width=70))


@layers.command("check")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
def layers_check(catalog, engine, as_json):
    """Validate every layer; exit 0 when clean, 1 with findings."""
    from zoning.io.checks import check_catalog

    cat = load_catalog(catalog)
    findings = check_catalog(cat, engine=engine)
    failed = [f for f in findings if not f.ok]
    if as_json:
        _echo_json([f.as_record() for f in findings])
    else:
        rows = [(f.layer, f.role, f.check, "ok" if f.ok else "FAIL", f.detail) for f in findings]
        click.echo(format_table(rows, ["layer", "role", "check", "result", "detail"], max_width=90))
        click.echo("")
        if failed:
            click.echo(f"{len(failed)} 项检查未通过 / {len(failed)} check(s) failed")
        else:
            click.echo(f"全部 {len(findings)} 项检查通过 / all {len(findings)} checks passed")
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------------------
@main.group(cls=ZoningGroup)
def sample() -> None:
    """The bundled Nanping sample layer set."""


@sample.command("build")
@CATALOG_OPTION
@click.option("--resolution", type=click.FloatRange(min=10), default=100.0, show_default=True,
              help="Carbon raster pixel size in metres (30 builds the benchmark raster only).")
@click.option("--force", is_flag=True, help="Rebuild even when the files exist.")
@click.option("--province", "province_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instead: build the province-size benchmark set (2,000 units, 500,000 stands, 30 m COG) here.")
@click.option("--stands", type=click.IntRange(min=1000), default=500_000, show_default=True,
              help="With --province: number of forest stands.")
def sample_build(catalog, resolution, force, province_dir, stands):
    """Generate the synthetic sample layers (deterministic, fixed seed)."""
    from zoning.sample import build_sample

    if province_dir is not None:
        from zoning.sample.province import build_province

        path = build_province(province_dir, resolution=resolution if resolution != 100.0 else 30.0, stands=stands,
                              progress=_progress)
        click.echo(f"province catalog: {path}")
        return
    cat = load_catalog(catalog)
    admin = cat.one("admin")
    out_dir = cat.one("red_line").path.parent
    bundled = resolution == 100.0
    if bundled and not force and not cat.missing_files():
        click.echo(f"样例图层已存在 / sample layers present in {out_dir} (use --force to rebuild)")
        return
    written = build_sample(out_dir, admin_path=admin.path, resolution=resolution,
                           with_vectors=bundled or force or bool(cat.missing_files()), progress=_progress)
    for key, path in written.items():
        click.echo(f"{key:20s} {path}")


# ---------------------------------------------------------------------------------------
@main.command("sites")
@click.argument("site")
@click.option("--crs", default=None, help="CRS of the input: EPSG code (4490, 4548 ...), gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer file (GPKG).")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def sites_cmd(site, crs, layer, catalog, engine, as_json):
    """Show what was read from SITE: a file or a coordinate string such as 118.17,26.64."""
    from zoning.geo.locate import locate_sites, site_summary
    from zoning.io.sites import read_sites

    sites = read_sites(site, crs=crs, engine=engine, layer=layer)
    admin = None
    cat = load_catalog(catalog)
    admin_specs = cat.by_role("admin")
    if admin_specs and admin_specs[0].path.exists():
        admin = load_layer(admin_specs[0], engine=engine)
    summary = site_summary(locate_sites(sites, admin))
    if as_json:
        records = summary.drop(columns=["length_m"]).to_dict("records")
        _echo_json(records)
        return
    rows = [(r.id, r.geom_type, r.crs_in, f"{r.lon:.6f}", f"{r.lat:.6f}", f"{r.area_m2:,.1f}", r.county or "—",
             " | ".join(r.warnings)) for r in summary.itertuples()]
    click.echo(format_table(rows, ["id", "类型 type", "输入坐标系 CRS in", "经度 lon", "纬度 lat",
                                   "面积 area (m²)", "县区 county", "提示 warnings"], max_width=80))


# ---------------------------------------------------------------------------------------
def _parse_buffers(ctx, param, text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("comma-separated metres, e.g. 300,1000") from None
    if not values or any(v <= 0 for v in values):
        raise click.BadParameter("buffer radii must be positive metres, e.g. 300,1000")
    return values


class _Bar:
    """A progress bar on a terminal; silent otherwise (logs, CI, pipes)."""

    def __init__(self, label: str, total: int):
        self.bar = None
        if total > 1 and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command("screen")
@click.argument("site")
@click.option("-a", "--attr", "attrs", multiple=True, metavar="KEY=VALUE",
              help="Project attribute, repeatable: name, industry, two_high, chemical, boiler_th, boiler_fuel, "
                   "energy_tce, renewable_share, clear_share.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write result.json, report.html, report.docx, sites.gpkg (batch: results/, summary.csv, summary.gpkg).")
@click.option("--crs", default=None, help="CRS of the input: EPSG code, gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer site file.")
@click.option("--buffers", default="500,1000,5000", show_default=True, callback=_parse_buffers,
              help="Buffer ring radii in metres, comma-separated.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Report language.")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rule pack (YAML). Default: the one the catalog names.")
@click.option("--reports/--no-reports", default=None,
              help="Write HTML/DOCX reports (default: on for one site, off for a batch).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--base-year", type=int, default=None, help="First year of the forgone forest sink (default: this year).")
@click.option("--json", "as_json", is_flag=True, help="Print the result(s) as JSON on stdout.")
@CATALOG_OPTION
@ENGINE_OPTION
@compute_options
def screen_cmd(site, attrs, out_dir, crs, layer, buffers, lang, rules_path, reports, overwrite, base_year, as_json,
               catalog, engine, compute, scheduler):
    """Screen SITE (a file of one or many sites, or coordinates) against the zoning layers and rules."""
    from zoning.screening.attributes import parse_pairs
    from zoning.io.layerset import load_layerset
    from zoning.export.screening import result_json, write_screen_outputs
    from zoning.render.labels import outcome_label
    from zoning.screening.rules import load_rule_pack
    from zoning.screening.pipeline import default_rule_pack, screen
    from zoning.io.sites import read_sites

    overrides = parse_pairs(attrs)
    cat = load_catalog(catalog)
    pack = load_rule_pack(rules_path) if rules_path else default_rule_pack(cat)
    sites = read_sites(site, crs=crs, engine=engine, layer=layer, on_error="flag")
    layers = load_layerset(cat, engine=engine)
    bar = _Bar("筛查 screening", len(sites))
    try:
        results = screen(sites, layers=layers, rule_pack=pack, attributes=overrides,
                         buffers_m=buffers, base_year=base_year, compute=compute, scheduler=scheduler,
                         progress=bar)
    finally:
        bar.close()
    if as_json:
        click.echo("[" + ",\n".join(result_json(r) for r in results) + "]" if len(results) > 1 else result_json(results[0]))
    else:
        rows = [(r.site_id, outcome_label(r.verdict, lang), r.site.county or "—",
                 ", ".join(f"{x.id}" for x in r.rules if x.outcome != "compliant") or "—",
                 r.error or "") for r in results]
        click.echo(format_table(rows, ["站点 site", "结论 verdict", "县区 county", "规则 rules", "错误 error"], max_width=80))
        if len(results) == 1 and results[0].rules:
            click.echo("")
            for x in results[0].rules:
                msg = x.message_en if lang == "en" else x.message
                click.echo(f"[{x.id}] {outcome_label(x.outcome, lang)}: {msg}"
                           + (f" ({'; '.join(x.reasons)})" if x.reasons else ""))
    if out_dir is not None:
        want_reports = reports if reports is not None else len(results) == 1
        bar = _Bar("写出 writing", len(results))
        try:
            written = write_screen_outputs(results, out_dir, layers=layers, lang=lang, reports=want_reports,
                                           overwrite=overwrite, progress=bar)
        finally:
            bar.close()
        click.echo(f"已写出 {len(written)} 个文件到 {out_dir} / wrote {len(written)} files to {out_dir}", err=True)
    errors = sum(1 for r in results if r.error)
    if errors:
        click.echo(f"{errors} 个站点无法筛查（见错误列）/ {errors} site(s) could not be screened (see the error column)",
                   err=True)
        sys.exit(1)


@main.command("map")
@click.argument("sites", nargs=-1)
@click.option("--result", "result_files", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A result.json or a zoning screen -o folder (repeatable); drawn without screening again.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The HTML file to write, e.g. maps/nanping.html.")
@click.option("-a", "--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="Attributes for SITES (as in screen).")
@click.option("--crs", default=None, help="CRS of SITES when they have none.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--tiles", default=None, help="An XYZ tile URL template (e.g. an intranet tile server).")
@click.option("--tiles-name", default=None, help="Name shown for --tiles in the layer switcher.")
@click.option("--no-raster", is_flag=True, help="Leave out the forest carbon overlay.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@CATALOG_OPTION
@ENGINE_OPTION
def map_cmd(sites, result_files, out_path, attrs, crs, lang, tiles, tiles_name, no_raster, overwrite, catalog, engine):
    """Write one self-contained, offline HTML map of the layers and (optionally) screened sites."""
    from zoning.screening.attributes import parse_pairs
    from zoning.io.layerset import load_layerset
    from zoning.render.webmap import basemaps_from_env, build_map
    from zoning.screening.result import ScreenResult
    from zoning.io.atomic import write_text

    cat = load_catalog(catalog)
    layers = load_layerset(cat, engine=engine)
    results = []
    files = []
    for path in result_files:  # a result.json, a JSON list of results, or a zoning screen -o folder
        path = Path(path)
        files += ([path / "result.json"] if (path / "result.json").exists() else []) + \
            sorted((path / "results").glob("*.json")) if path.is_dir() else [path]
    for path in files:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            docs = doc if isinstance(doc, list) else [doc]
            results += [ScreenResult.from_dict(d) for d in docs]
        except KeyError as exc:
            raise ZoningError(f"{path} 不是 zoning screen 的结果文件（缺少 {exc}）",
                              f"{path} is not a zoning screen result (missing key {exc}); pass result.json or the "
                              f"screen output folder") from None
        except (OSError, ValueError, TypeError) as exc:
            raise ZoningError(f"无法读取筛查结果 {path}：{exc}", f"cannot read screening result {path}: {exc}") from None
    if result_files and not results:
        raise ZoningError("没有找到筛查结果（result.json 或 results/*.json）",
                          "no screening results found (result.json or results/*.json)")
    if sites:
        from zoning.screening.pipeline import screen

        overrides = parse_pairs(attrs)
        for site in sites:
            results += screen(site, layers=layers, attributes=overrides, crs=crs, engine=engine)
    html = build_map(layers, results, lang=lang, basemaps=basemaps_from_env(tiles, tiles_name), raster=not no_raster)
    from zoning.io.atomic import check_writable

    check_writable(out_path, overwrite=overwrite)
    write_text(out_path, html)
    click.echo(f"已写出 / wrote {out_path} ({len(html.encode('utf-8')) / 1e6:.2f} MB)", err=True)


@main.command("export")
@click.option("--county", default="all", show_default=True, help="County name (延平区), code (350702), English name or all.")
@click.option("--layers", "roles", default="all", show_default=True,
              help="Comma-separated roles (admin,red_line,control_unit,park,protected,no_burn,program) or all.")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="A zoning screen / carbon stock output folder to export with the layers.")
@click.option("--format", "formats", multiple=True, default=("shp",), show_default=True,
              help="shp, gpkg, geojson, kml or csv; repeatable.")
@click.option("--encoding", default="utf-8", show_default=True, help="Shapefile DBF encoding: utf-8 or gbk.")
@click.option("--crs", default="4490", show_default=True, help="Output CRS: 4490, 4548, 4549, 4527, 4528 …")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--overwrite", is_flag=True, help="Replace existing county folders.")
@CATALOG_OPTION
@ENGINE_OPTION
def export_cmd(county, roles, results_dir, formats, encoding, crs, out_dir, overwrite, catalog, engine):
    """Export layers and results per county for ArcGIS/QGIS (zipped shapefiles, GPKG, GeoJSON, KML, CSV)."""
    from zoning.export.county import export_county
    from zoning.io.layerset import load_layerset

    cat = load_catalog(catalog)
    layers = load_layerset(cat, engine=engine)
    flat = tuple(f.strip() for spec in formats for f in spec.split(",") if f.strip())
    manifests = export_county(layers, out_dir, county=county, roles=roles, formats=flat, encoding=encoding, crs=crs,
                              results_dir=results_dir, overwrite=overwrite)
    rows = [(m["county"]["name"], m["county"]["code"], len(m["files"]), sum(f["features"] for f in m["files"]
                                                                             if f["format"] != "gpkg"),
             m["crs"], m["encoding"], m["folder"]) for m in manifests]
    click.echo(format_table(rows, ["县区 county", "代码 code", "文件 files", "要素 features", "CRS", "编码 encoding",
                                   "目录 folder"], max_width=70))
    for m in manifests:
        for note in m["notes"]:
            click.echo(f"提示 / note ({m['county']['name']}): {note}")


@main.group(cls=ZoningGroup)
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
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@CATALOG_OPTION
@ENGINE_OPTION
@compute_options
def carbon_stock_cmd(areas, out_dir, raster, units, by_field, ensemble, crs, workers, overwrite, catalog, engine,
                     compute, scheduler):
    """Carbon stock per feature of AREAS (t C, t CO2), with totals by county."""
    from zoning.export.carbon import write_stock_outputs
    from zoning.io.sites import read_sites

    cat = load_catalog(catalog)
    spec = cat.one("forest_carbon") if raster is None else None
    polys = read_sites(areas, crs=crs, engine=engine)
    if by_field and by_field not in polys.columns:
        raise ZoningError(f"字段 {by_field!r} 不在 {areas} 中", f"field {by_field!r} is not in {areas}; fields: "
                          f"{', '.join(c for c in polys.columns if c not in ('geometry', 'warnings'))}")
    admin = load_layer(cat.one("admin"), engine=engine) if cat.by_role("admin") else None
    totals = write_stock_outputs(polys, raster or spec.path, out_dir, units=units or (spec.units if spec else None),
                                 by_field=by_field, admin=admin, workers=workers, overwrite=overwrite,
                                 compute=compute, scheduler=scheduler, ensemble=ensemble)
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
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@CATALOG_OPTION
@ENGINE_OPTION
def carbon_program_cmd(out_dir, scenarios, target_ha, schedule_path, quota_path, min_stand_ha, buyback_ha,
                       harvest_rotation, harvest_stock, draws, seed, plateau_years, saturation_years, horizon,
                       overwrite, catalog, engine):
    """Sink gain of the 30,000 ha forest-quality programme and the 16,700 ha buy-back."""
    from zoning.io.layerset import load_layerset
    from zoning.carbon.run import run_program, write_program_outputs

    cat = load_catalog(catalog)
    layers = load_layerset(cat, engine=engine)
    result = run_program(layers, scenarios=scenarios or (2.77, 3.86), target_ha=target_ha,
                         schedule_path=schedule_path, quota_path=quota_path, min_stand_ha=min_stand_ha,
                         buyback_ha=buyback_ha, rotation_years=harvest_rotation, harvest_stock_tC_ha=harvest_stock,
                         draws=draws, seed=seed, plateau_years=plateau_years, saturation_years=saturation_years,
                         horizon=horizon)
    write_program_outputs(result, out_dir, overwrite=overwrite)
    d = result.to_dict()
    rows = []
    for label, s in d["scenarios"].items():
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


@main.group(cls=ZoningGroup)
def rules() -> None:
    """Rule packs (access lists as data)."""


@rules.command("check")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@CATALOG_OPTION
def rules_check(pack, catalog):
    """Validate a rule pack: schema, fields, duplicate ids, attributes and roles named."""
    from zoning.screening.rules import load_rule_pack, unit_codes_in

    rp = load_rule_pack(pack)
    problems = []
    cat_path = catalog
    try:
        cat = load_catalog(cat_path)
        units = [s for s in cat.by_role("control_unit") if s.path.exists()]
        if units:
            codes = set(load_layer(units[0])["code"].astype(str))
            for rule in rp.rules:
                for code in unit_codes_in(rule.scope) | unit_codes_in(rule.when):
                    if code not in codes:
                        problems.append(f"line {rule.source_line} rule {rule.id}: unit code {code} is not in "
                                        f"the catalog's control units")
    except ZoningError:
        pass  # no catalog: the pack's own checks still stand
    for p in problems:
        click.echo(f"警告 / warning: {p}")
    click.echo(f"{rp.name} v{rp.version}: {len(rp.rules)} 条规则有效 / {len(rp.rules)} rules valid")


if __name__ == "__main__":  # pragma: no cover
    main()
