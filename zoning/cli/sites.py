"""``zoning sites``: what was read from a site file or literal."""
from __future__ import annotations

import re

import click

from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, echo_json
from zoning.geo.locate import locate_sites, site_summary
from zoning.io.catalog import load_catalog, load_layer
from zoning.io.sites import read_sites
from zoning.io.tables import CANONICAL_ATTRIBUTES
from zoning.render.table import format_table

INDUSTRY_N = re.compile(r"^industry_\d+$")


@click.command("sites")
@click.argument("site")
@click.option("--crs", default=None, help="CRS of the input: EPSG code (4490, 4548 ...), gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer file (GPKG).")
@click.option("--field", "fields", multiple=True, metavar="CANONICAL=COLUMN",
              help="Which column holds an attribute, repeatable (energy_tce=能耗); or a YAML/JSON mapping file.")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def sites_cmd(site, crs, layer, fields, catalog, engine, as_json):
    """Show what was read from SITE: a file or a coordinate string such as 118.17,26.64."""
    sites = read_sites(site, crs=crs, engine=engine, layer=layer, fields=list(fields) or None)
    cat = load_catalog(catalog)
    admin_specs = cat.by_role("admin")
    admin = load_layer(admin_specs[0], engine=engine) if admin_specs and admin_specs[0].path.exists() else None
    summary = site_summary(locate_sites(sites, admin))
    summary["attributes"] = site_attributes(sites)
    if as_json:
        echo_json(summary.drop(columns=["length_m"]).to_dict("records"))
        return
    rows = [(r.id, r.geom_type, r.crs_in, f"{r.lon:.6f}", f"{r.lat:.6f}", f"{r.area_m2:,.1f}", r.county or "—",
             "; ".join(f"{k}={v}" for k, v in r.attributes.items()) or "—",
             " | ".join(r.warnings)) for r in summary.itertuples()]
    click.echo(format_table(rows, ["id", "类型 type", "输入坐标系 CRS in", "经度 lon", "纬度 lat",
                                   "面积 area (m²)", "县区 county", "属性 attributes", "提示 warnings"], max_width=80))


def site_attributes(sites) -> list[dict]:
    """Each site's attributes under their canonical names (name, industry, energy_tce …), as read."""
    names = [c for c in sites.columns if c in CANONICAL_ATTRIBUTES or INDUSTRY_N.match(str(c))]
    out = []
    for _, row in sites[names].iterrows():
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()
                    if v is not None and not (isinstance(v, float) and v != v) and str(v).strip() != ""})
    return out
