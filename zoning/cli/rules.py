"""``zoning rules check``: validate a rule pack."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.cli._common import CATALOG_OPTION, ZoningGroup
from zoning.errors import ZoningError
from zoning.io.catalog import load_catalog, load_layer
from zoning.screening.rules import load_rule_pack, unit_code_problems


@click.group(cls=ZoningGroup)
def rules() -> None:
    """Rule packs (access lists as data)."""


@rules.command("check")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@CATALOG_OPTION
def rules_check(pack, catalog):
    """Validate a rule pack: schema, fields, duplicate ids, attributes and roles named."""
    rp = load_rule_pack(pack)
    problems: list[str] = []
    try:
        units = [s for s in load_catalog(catalog).by_role("control_unit") if s.path.exists()]
        if units:
            problems = unit_code_problems(rp, set(load_layer(units[0])["code"].astype(str)))
    except ZoningError:
        pass  # no catalog: the pack's own checks still stand
    for p in problems:
        click.echo(f"警告 / warning: {p}")
    click.echo(f"{rp.name} v{rp.version}: {len(rp.rules)} 条规则有效 / {len(rp.rules)} rules valid")
