"""``zoning screen``: screen sites, print the verdicts, write the outputs."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.errors import AttributeProblem
from zoning.escape import terminal_json, terminal_text
from zoning.io.atomic import check_folder_writable
from zoning.api import load_layers, screen, write_screen_outputs
from zoning.export.screening import MAX_MAP_SITES
from zoning.cli._common import (CATALOG_OPTION, ENGINE_OPTION, EXIT_PARTIAL, LANG_OPTION, OVERWRITE_OPTION, Bar,
                                compute_options, parse_attributes)
from zoning.render.labels import outcome_label
from zoning.render.table import format_table
from zoning.render.warnings import reason_lines, short_reason, warning_lines
from zoning.screening.overlay import DEFAULT_BUFFERS_M


def _parse_buffers(ctx, param, text: str) -> tuple[float, ...]:
    """Buffer radii (m); a bad value is bad data (exit 2), like a bad attribute."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(not (0 < v < float("inf")) for v in values):
        raise AttributeProblem(f"--buffers 应为逗号分隔的正数米值，例如 300,1000（收到 {text[:60]!r}）",
                               f"--buffers takes comma-separated positive metres, e.g. 300,1000 (got {text[:60]!r})")
    return values


@click.command("screen")
@click.argument("site")
@click.option("-a", "--attr", "attrs", multiple=True, metavar="KEY=VALUE",
              help="Project attribute, repeatable: name, industry, two_high, chemical, boiler_th, boiler_fuel, "
                   "energy_tce, renewable_share, clear_share.")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write result.json, report.html, report.docx, sites.gpkg (batch: results/, summary.csv, summary.gpkg).")
@click.option("--crs", default=None, help="CRS of the input: EPSG code, gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer site file.")
@click.option("--field", "fields", multiple=True, metavar="CANONICAL=COLUMN",
              help="Which column holds an attribute, repeatable (energy_tce=能耗); or a YAML/JSON mapping file.")
@click.option("--buffers", default=",".join(f"{b:g}" for b in DEFAULT_BUFFERS_M), show_default=True,
              callback=_parse_buffers, help="Buffer ring radii in metres, comma-separated.")
@LANG_OPTION
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rule pack (YAML). Default: the one the catalog names.")
@click.option("--reports/--no-reports", default=None,
              help="Write HTML/DOCX reports (default: on for one site, off for a batch).")
@OVERWRITE_OPTION
@click.option("--base-year", type=click.IntRange(1950, 2200), default=None, help="First year of the forgone forest sink (default: this year).")
@click.option("--json", "as_json", is_flag=True, help="Print the result(s) as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True,
              help="Do not print warnings (they stay in result.json and the reports).")
@CATALOG_OPTION
@ENGINE_OPTION
@compute_options
def screen_cmd(site, attrs, out_dir, crs, layer, fields, buffers, lang, rules_path, reports, overwrite, base_year, as_json,
               quiet, catalog, engine, compute, scheduler):
    """Screen SITE (a file of one or many sites, or coordinates) against the zoning layers and rules."""
    attributes = parse_attributes(attrs)
    if out_dir is not None:
        check_folder_writable(out_dir, overwrite=overwrite)  # refuse before any work, not after it
    layers = load_layers(catalog, engine=engine)
    with Bar("筛查 screening") as bar:
        results = screen(site, layers=layers, attributes=attributes, rule_pack=rules_path, buffers_m=buffers,
                         crs=crs, layer=layer, engine=engine, base_year=base_year, compute=compute,
                         scheduler=scheduler, progress=bar, fields=list(fields) or None)
    if not (quiet or as_json):  # before the verdicts, Chinese then English (JSON carries them itself)
        for line in warning_lines(results):  # ids, names and columns in them are data: escaped
            click.echo(terminal_text(line))
    if as_json:
        click.echo(terminal_json(results.to_json() if len(results) > 1 else results[0].to_json()))
    else:
        rows = [(r.site_id, outcome_label(r.verdict, lang), r.site.county or "—",
                 "; ".join(x for x in (short_reason(r), ", ".join(f"{x.id}" for x in r.rules
                                                                  if x.outcome != "compliant")) if x) or "—",
                 r.error or "") for r in results]
        click.echo(format_table(rows, ["站点 site", "结论 verdict", "县区 county", "规则 rules", "错误 error"], max_width=80))
        if len(results) == 1 and (results[0].rules or results[0].verdict_reasons):
            click.echo("")
            for line in reason_lines(results[0]):
                click.echo(terminal_text(line))
            for x in results[0].rules:
                msg = x.message_en if lang == "en" else x.message
                click.echo(terminal_text(f"[{x.id}] {outcome_label(x.outcome, lang)}: {msg}"
                                         + (f" ({'; '.join(x.reasons)})" if x.reasons else "")))
    if out_dir is not None:
        with Bar("写出 writing", len(results)) as bar:
            written = write_screen_outputs(results, out_dir, lang=lang, reports=reports, overwrite=overwrite,
                                           progress=bar)
        click.echo(f"已写出 {len(written)} 个文件到 {out_dir} / wrote {len(written)} files to {out_dir}", err=True)
        _say_when_no_map(results, written, out_dir)
    if results.errors:
        n = len(results.errors)
        click.echo(f"{n} 个站点无法筛查（见错误列）/ {n} site(s) could not be screened (see the error column)", err=True)
        raise SystemExit(EXIT_PARTIAL)


def _say_when_no_map(results, written: dict, out_dir) -> None:
    """A batch too large for one map page writes none: say so, and how to draw one."""
    if len(results) > 1 and "map" not in written:
        click.echo(f"站点多于 {MAX_MAP_SITES} 个，未生成 map.html（页面过大）；需要时用 zoning map --result "
                   f"{out_dir} -o map.html 绘制 / more than {MAX_MAP_SITES} sites: no map.html (the page would be too "
                   f"large); draw one with zoning map --result {out_dir} -o map.html", err=True)
