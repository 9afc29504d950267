"""``zoning sites``: what was read from a site file or literal."""
from __future__ import annotations

import re

import click

from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, EXIT_PARTIAL, echo_json
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
    """Show what was read from SITE: a file or a coordinate string such as 118.17,26.64.

    A site that cannot be read is shown with its reason (exit 1); the others are shown as read."""
    # one bad row never hides the others: unusable sites come back as rows with an error message
    sites = read_sites(site, crs=crs, engine=engine, layer=layer, fields=list(fields) or None, on_error="flag")
    cat = load_catalog(catalog)
    admin_specs = cat.by_role("admin")
    admin = load_layer(admin_specs[0], engine=engine) if admin_specs and admin_specs[0].path.exists() else None
    summary = site_summary(locate_sites(sites, admin))
    summary["attributes"] = site_attributes(sites)
    if as_json:
        summary["error"] = sites["error"].tolist() if "error" in sites.columns else None
        echo_json(summary.drop(columns=["length_m"]).to_dict("records"))
        raise SystemExit(_exit_code(sites))
    errors = sites["error"].tolist() if "error" in sites.columns else [None] * len(sites)
    rows = [(r.id, _shown(r.geom_type), r.crs_in, _shown(r.lon, "{:.6f}"), _shown(r.lat, "{:.6f}"),
             _shown(r.area_m2, "{:,.1f}"), _shown(r.county), "; ".join(f"{k}={v}" for k, v in r.attributes.items()) or "—",
             _shown(err), " | ".join(w for w in r.warnings if w != err))
            for r, err in zip(summary.itertuples(), errors)]
    click.echo(format_table(rows, ["id", "类型 type", "输入坐标系 CRS in", "经度 lon", "纬度 lat", "面积 area (m²)",
                                   "县区 county", "属性 attributes", "错误 error", "提示 warnings"], max_width=80))
    n_bad = int(sites["error"].notna().sum()) if "error" in sites.columns else 0
    if n_bad:
        click.echo(f"{n_bad} 个站点无法读取（见错误列）/ {n_bad} site(s) could not be read (see the error column)",
                   err=True)
    raise SystemExit(_exit_code(sites))


def _shown(value, fmt: str = "{}") -> str:
    """A table cell: "—" for a missing value (None, NaN), else the value formatted."""
    if value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and not value):
        return "—"
    return fmt.format(value)


def _exit_code(sites) -> int:
    """1 when some site could not be read (its row says why), else 0."""
    return EXIT_PARTIAL if "error" in sites.columns and sites["error"].notna().any() else 0


def site_attributes(sites) -> list[dict]:
    """Each site's attributes under their canonical names (name, industry, energy_tce …), as read."""
    names = [c for c in sites.columns if c in CANONICAL_ATTRIBUTES or INDUSTRY_N.match(str(c))]
    out = []
    for _, row in sites[names].iterrows():
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()
                    if v is not None and not (isinstance(v, float) and v != v) and str(v).strip() != ""})
    return out
