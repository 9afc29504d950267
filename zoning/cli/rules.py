"""``zoning rules check``: validate a rule pack."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.escape import terminal_text
from zoning.cli._common import CATALOG_OPTION, ZoningGroup, debugging
from zoning.errors import RulePackError, ZoningError
from zoning.io.catalog import load_catalog, load_layer
from zoning.screening.rules import load_rule_pack, unit_code_problems


#: problems listed one per line by ``rules check``
MAX_LISTED = 50


@click.group(cls=ZoningGroup)
def rules() -> None:
    """Rule packs (access lists as data)."""


@rules.command("check")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@CATALOG_OPTION
def rules_check(pack, catalog):
    """Validate a rule pack: schema, fields, duplicate ids, attributes and roles named. Every
    problem is listed, one per line (at most 50; the rest are counted)."""
    try:
        rp = load_rule_pack(pack)
    except RulePackError as exc:
        problems = getattr(exc, "problems", None) or []
        if len(problems) > 1:
            limit = MAX_LISTED
            for zh, en in problems[:limit]:
                click.echo(ZoningError(zh, en).one_line(full=debugging()).replace("错误：", "问题：", 1)
                           .replace("| Error:", "| Problem:", 1), err=True)
            if len(problems) > limit:
                click.echo(f"… 另有 {len(problems) - limit} 处问题 / … {len(problems) - limit} more problems", err=True)
            raise RulePackError(f"{pack.name}：{len(problems)} 处问题，规则包无效",
                                f"{pack.name}: {len(problems)} problems; the rule pack is not valid") from None
        raise
    problems: list[str] = []
    try:
        units = [s for s in load_catalog(catalog).by_role("control_unit") if s.path.exists()]
        if units:
            problems = unit_code_problems(rp, set(load_layer(units[0])["code"].astype(str)))
    except ZoningError:
        pass  # no catalog: the pack's own checks still stand
    for p in problems:
        click.echo(terminal_text(f"警告 / warning: {p}"))
    click.echo(terminal_text(f"{rp.name} v{rp.version}: {len(rp.rules)} 条规则有效 / {len(rp.rules)} rules valid"))
