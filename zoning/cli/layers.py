"""``zoning layers list|check``."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.api import check_layers
from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, EXIT_OK, EXIT_PARTIAL, ZoningGroup, echo_json
from zoning.io.catalog import load_catalog
from zoning.render.table import format_table


@click.group(cls=ZoningGroup)
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
        echo_json(records)
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
