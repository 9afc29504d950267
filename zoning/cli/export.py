"""``zoning export``: per-county bundles for ArcGIS/QGIS."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.escape import terminal_text
from zoning.api import export_county, load_layers
from zoning.cli._common import CATALOG_OPTION, ENGINE_OPTION, EXIT_OK, EXIT_PARTIAL, OVERWRITE_OPTION
from zoning.render.table import format_table


@click.command("export")
@click.option("--county", default="all", show_default=True, help="County name (延平区), code (350702), English name or all.")
@click.option("--layers", "roles", default="all", show_default=True,
              help="Comma-separated roles (admin,red_line,control_unit,park,protected,no_burn,program) or all.")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="A zoning screen / carbon stock output folder to export with the layers.")
@click.option("--format", "formats", multiple=True, default=("shp",), show_default=True,
              help="shp, gpkg, geojson, kml or csv; repeatable or comma-separated.")
@click.option("--encoding", default="utf-8", show_default=True, help="Shapefile DBF encoding: utf-8 or gbk.")
@click.option("--crs", default="auto", show_default=True,
              help="Output CRS: auto (each county in its own 3-degree GK zone, EPSG:4548 west of 118°30'E, 4549 "
                   "east), 4490, 4548, 4549, 4527, 4528 …")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True)
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
def export_cmd(county, roles, results_dir, formats, encoding, crs, out_dir, overwrite, catalog, engine):
    """Export layers and results per county for ArcGIS/QGIS (zipped shapefiles, GPKG, GeoJSON, KML, CSV)."""
    flat = tuple(f.strip() for spec in formats for f in spec.split(",") if f.strip())
    manifests = export_county(out_dir, county=county, layers=load_layers(catalog, engine=engine), roles=roles,
                              formats=flat, encoding=encoding, crs=crs, results_dir=results_dir, overwrite=overwrite)
    rows = [(m["county"]["name"], m["county"]["code"], len(m["files"]), _features(m), m["crs"], m["encoding"],
             m["folder"]) for m in manifests]
    click.echo(format_table(rows, ["县区 county", "代码 code", "文件 files", "要素 features", "CRS", "编码 encoding",
                                   "目录 folder"], max_width=70))
    for m in manifests:
        for text in m["notes"]:
            warning = text in m.get("warnings", ())
            click.echo(terminal_text(f"{'警告 / warning' if warning else '提示 / note'} ({m['county']['name']}): {text}"),
                       err=warning)
    # sites of --results that could not be screened are in no county file: the run is partial
    raise SystemExit(EXIT_PARTIAL if any(m.get("unscreened") or m.get("outside_counties") for m in manifests)
                     else EXIT_OK)


def _features(manifest: dict) -> int:
    """Features of a county's export, each layer counted once whatever the formats written."""
    per_layer: dict[str, int] = {}
    together = 0  # a GeoPackage holds every layer in one file (its manifest layer is "all")
    for f in manifest["files"]:
        if f["layer"] == "all":
            together = max(together, int(f["features"] or 0))
        else:
            per_layer[f["layer"]] = max(per_layer.get(f["layer"], 0), int(f["features"] or 0))
    return max(sum(per_layer.values()), together)
