"""``zoning sites``: what was read from a site file or literal."""
from __future__ import annotations

import click

from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, echo_json
from zoning.geo.locate import locate_sites, site_summary
from zoning.io.catalog import load_catalog, load_layer
from zoning.io.sites import read_sites
from zoning.render.table import format_table


@click.command("sites")
@click.argument("site")
@click.option("--crs", default=None, help="CRS of the input: EPSG code (4490, 4548 ...), gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer file (GPKG).")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def sites_cmd(site, crs, layer, catalog, engine, as_json):
    """Show what was read from SITE: a file or a coordinate string such as 118.17,26.64."""
    sites = read_sites(site, crs=crs, engine=engine, layer=layer)
    cat = load_catalog(catalog)
    admin_specs = cat.by_role("admin")
    admin = load_layer(admin_specs[0], engine=engine) if admin_specs and admin_specs[0].path.exists() else None
    summary = site_summary(locate_sites(sites, admin))
    if as_json:
        echo_json(summary.drop(columns=["length_m"]).to_dict("records"))
        return
    rows = [(r.id, r.geom_type, r.crs_in, f"{r.lon:.6f}", f"{r.lat:.6f}", f"{r.area_m2:,.1f}", r.county or "—",
             " | ".join(r.warnings)) for r in summary.itertuples()]
    click.echo(format_table(rows, ["id", "类型 type", "输入坐标系 CRS in", "经度 lon", "纬度 lat",
                                   "面积 area (m²)", "县区 county", "提示 warnings"], max_width=80))
