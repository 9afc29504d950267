"""``zoning layers list|check|import``."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.escape import terminal_text
from zoning.api import check_layers, import_layers
from zoning.cli._common import (CATALOG_OPTION, ENGINE_OPTION, EXIT_OK, EXIT_PARTIAL, LANG_OPTION, OVERWRITE_OPTION,
                                ZoningGroup, echo_json)
from zoning.io.catalog import load_catalog
from zoning.render.table import format_table


@click.group(cls=ZoningGroup)
def layers() -> None:
    """List, check and import the layers of a catalog."""


@layers.command("list")
@CATALOG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def layers_list(catalog, as_json):
    """Print the catalog: role, name, kind, vintage, synthetic, path."""
    cat = load_catalog(catalog)
    records = [spec.as_record() for spec in cat.layers]
    if as_json:
        echo_json(records)
        return
    click.echo(terminal_text(f"{cat.name}  ({cat.path})"))
    rows = [(r["role"], r["role_zh"], r["name"], r["kind"], r["vintage"], "是/yes" if r["synthetic"] else "否/no",
             ("" if Path(r["path"]).exists() else "[missing] ") + r["path"]) for r in records]
    click.echo(format_table(rows, ["role", "角色", "name", "kind", "vintage", "synthetic", "path"], max_width=70))


@layers.command("check")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
def layers_check(catalog, engine, as_json):
    """Validate every layer; exit 0 when clean, 1 with findings."""
    findings = check_layers(catalog, engine=engine)
    failed = [f for f in findings if not f.ok]
    if as_json:
        echo_json([f.as_record() for f in findings])
    else:
        rows = [(f.layer, f.role, f.check, "ok" if f.ok else "FAIL", f.detail) for f in findings]
        click.echo(format_table(rows, ["layer", "role", "check", "result", "detail"], max_width=90))
        click.echo("")
        if failed:
            click.echo(f"{len(failed)} 项检查未通过 / {len(failed)} check(s) failed")
        else:
            click.echo(f"全部 {len(findings)} 项检查通过 / all {len(findings)} checks passed")
    raise SystemExit(EXIT_PARTIAL if failed else EXIT_OK)


@layers.command("import")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the imported layer set into (catalog.yaml, clauses.yaml, layers/, rules/).")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML mapping file placing layers and fields the conventions do not recognise.")
@click.option("--list", "clause_list", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Access-list table (.xlsx or .csv): general requirements per tier, one row per clause or "
                   "one column per dimension.")
@click.option("--rules", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rule pack to copy into the folder (default: the sample catalog's).")
@OVERWRITE_OPTION
@LANG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
def layers_import(src, out_dir, mapping, clause_list, rules, overwrite, lang, as_json):
    """Import official 三线一单 results (folder, .zip, .gdb or .gpkg) as a layer set, then check it.

    Exit 0 when `layers check` is clean, 1 with findings, 2 for unreadable input.
    """
    report = import_layers(src, out_dir, mapping=mapping, clause_list=clause_list, rules=rules,
                           overwrite=overwrite)
    failed = report.failed_checks
    if as_json:
        echo_json(report.as_dict())
        raise SystemExit(EXIT_PARTIAL if failed else EXIT_OK)
    for line in report.lines(lang):  # layer names, paths and feature ids in them are data: escaped
        click.echo(terminal_text(line))
    click.echo("")
    click.echo(terminal_text(f"catalog: {report.catalog}"))
    if failed:
        rows = [(f.layer, f.role, f.check, "FAIL", f.detail) for f in failed]
        click.echo(format_table(rows, ["layer", "role", "check", "result", "detail"], max_width=90))
        click.echo(f"layers check: {len(failed)} 项检查未通过 / {len(failed)} check(s) failed")
    else:
        click.echo(f"layers check: 全部 {len(report.findings)} 项检查通过 / all {len(report.findings)} checks passed")
    raise SystemExit(EXIT_PARTIAL if failed else EXIT_OK)
