"""``zoning map``: the layers (and screened sites) as one offline HTML map."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.api import explore, load_layers
from zoning.cli._common import (CATALOG_OPTION, ENGINE_OPTION, EXIT_PARTIAL, LANG_OPTION, OVERWRITE_OPTION,
                                parse_attributes)
from zoning.escape import terminal_text


def tile_host(url: str) -> str:
    """Where tiles come from, without the path or query (a Tianditu key stays out of the terminal)."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else (parsed.scheme or "file") + ": local folder"


@click.command("map")
@click.argument("sites", nargs=-1)
@click.option("--result", "result_files", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A result.json or a zoning screen -o folder (repeatable); drawn without screening again.")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="The HTML file to write, e.g. maps/nanping.html.")
@click.option("-a", "--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="Attributes for SITES (as in screen).")
@click.option("--crs", default=None, help="CRS of SITES when they have none.")
@LANG_OPTION
@click.option("--tiles", default=None, help="An XYZ tile URL template (e.g. an intranet tile server).")
@click.option("--tiles-name", default=None, help="Name shown for --tiles in the layer switcher.")
@click.option("--no-raster", is_flag=True, help="Leave out the forest carbon overlay.")
@OVERWRITE_OPTION
@CATALOG_OPTION
@ENGINE_OPTION
def map_cmd(sites, result_files, out_path, attrs, crs, lang, tiles, tiles_name, no_raster, overwrite, catalog, engine):
    """Write one self-contained, offline HTML map of the layers and (optionally) screened sites."""
    from zoning.io.atomic import check_writable
    from zoning.render.maps import basemaps_from_env, save_map

    check_writable(out_path, overwrite=overwrite)  # refuse before any work
    basemaps = basemaps_from_env(tiles, tiles_name)  # a missing tile folder: refused before any work too
    layers = load_layers(catalog, engine=engine)
    attributes = parse_attributes(attrs)
    results = []
    if result_files:
        from zoning.screening.result import read_results

        results = read_results(result_files)
    for site in sites:
        from zoning.api import screen

        results += list(screen(site, layers=layers, attributes=attributes, crs=crs, engine=engine))
    m = explore(results=results, layers=layers, lang=lang, basemaps=basemaps, raster=not no_raster)
    size = save_map(m, out_path, overwrite=overwrite)
    click.echo(f"已写出 / wrote {out_path} ({size / 1e6:.2f} MB)", err=True)
    if basemaps:  # the one way a zoning map reaches a network: say so
        click.echo("提示：选择底图时，此地图会从以下地址加载瓦片 / note: when a base map is chosen, this map loads tiles "
                   "from: " + ", ".join(sorted({terminal_text(tile_host(u)) for b in basemaps for u in b["urls"]}))[:300],
                   err=True)
    failed = [r for r in results if r.error]
    if failed:
        click.echo(f"{len(failed)} 个站点无法筛查，未画出 / {len(failed)} site(s) could not be screened and are not "
                   f"drawn: " + ", ".join(terminal_text(r.site_id) for r in failed[:5]), err=True)
        raise SystemExit(EXIT_PARTIAL)
