"""The ``zoning`` command: thin click commands over library functions."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .catalog import load_catalog, load_layer
from .errors import ZoningError
from .render.table import format_table

CATALOG_OPTION = click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
                              help="Layer catalog (YAML). Default: $ZONING_CATALOG or ./layers/catalog.yaml.")
ENGINE_OPTION = click.option("--engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio",
                             show_default=True, help="Vector I/O engine.")


class ZoningGroup(click.Group):
    """Turns user errors into one line (Chinese, then English) and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ZoningError as exc:
            click.echo(exc.one_line(), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("已中断 / interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug, not a user error: say so briefly
            if os.environ.get("ZONING_DEBUG"):
                raise
            click.echo(f"内部错误 / internal error: {type(exc).__name__}: {exc} "
                       f"(set ZONING_DEBUG=1 for a traceback and please report it)", err=True)
            sys.exit(3)


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _progress(msg: str) -> None:
    click.echo(f"  · {msg}", err=True)


@click.group(cls=ZoningGroup)
@click.version_option(__version__, prog_name="zoning")
def main() -> None:
    """三线一单 / 生态环境分区管控 screening tool for Nanping (南平市)."""


# ---------------------------------------------------------------------------------------
@main.group(cls=ZoningGroup)
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
        _echo_json(records)
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
    from .checks import check_catalog

    cat = load_catalog(catalog)
    findings = check_catalog(cat, engine=engine)
    failed = [f for f in findings if not f.ok]
    if as_json:
        _echo_json([f.as_record() for f in findings])
    else:
        rows = [(f.layer, f.role, f.check, "ok" if f.ok else "FAIL", f.detail) for f in findings]
        click.echo(format_table(rows, ["layer", "role", "check", "result", "detail"], max_width=90))
        click.echo("")
        if failed:
            click.echo(f"{len(failed)} 项检查未通过 / {len(failed)} check(s) failed")
        else:
            click.echo(f"全部 {len(findings)} 项检查通过 / all {len(findings)} checks passed")
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------------------
@main.group(cls=ZoningGroup)
def sample() -> None:
    """The bundled Nanping sample layer set."""


@sample.command("build")
@CATALOG_OPTION
@click.option("--resolution", type=click.FloatRange(min=10), default=100.0, show_default=True,
              help="Carbon raster pixel size in metres (30 builds the benchmark raster only).")
@click.option("--force", is_flag=True, help="Rebuild even when the files exist.")
def sample_build(catalog, resolution, force):
    """Generate the synthetic sample layers (deterministic, fixed seed)."""
    from .sample import build_sample

    cat = load_catalog(catalog)
    admin = cat.one("admin")
    out_dir = cat.one("red_line").path.parent
    bundled = resolution == 100.0
    if bundled and not force and not cat.missing_files():
        click.echo(f"样例图层已存在 / sample layers present in {out_dir} (use --force to rebuild)")
        return
    written = build_sample(out_dir, admin_path=admin.path, resolution=resolution,
                           with_vectors=bundled or force or bool(cat.missing_files()), progress=_progress)
    for key, path in written.items():
        click.echo(f"{key:20s} {path}")


# ---------------------------------------------------------------------------------------
@main.command("sites")
@click.argument("site")
@click.option("--crs", default=None, help="CRS of the input: EPSG code (4490, 4548 ...), gcj02 or bd09.")
@click.option("--layer", default=None, help="Layer name inside a multi-layer file (GPKG).")
@CATALOG_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def sites_cmd(site, crs, layer, catalog, engine, as_json):
    """Show what was read from SITE: a file or a coordinate string such as 118.17,26.64."""
    from .locate import locate_sites, site_summary
    from .sites import read_sites

    sites = read_sites(site, crs=crs, engine=engine, layer=layer)
    admin = None
    cat = load_catalog(catalog)
    admin_specs = cat.by_role("admin")
    if admin_specs and admin_specs[0].path.exists():
        admin = load_layer(admin_specs[0], engine=engine)
    summary = site_summary(locate_sites(sites, admin))
    if as_json:
        records = summary.drop(columns=["length_m"]).to_dict("records")
        _echo_json(records)
        return
    rows = [(r.id, r.geom_type, r.crs_in, f"{r.lon:.6f}", f"{r.lat:.6f}", f"{r.area_m2:,.1f}", r.county or "—",
             " | ".join(r.warnings)) for r in summary.itertuples()]
    click.echo(format_table(rows, ["id", "类型 type", "输入坐标系 CRS in", "经度 lon", "纬度 lat",
                                   "面积 area (m²)", "县区 county", "提示 warnings"], max_width=80))


if __name__ == "__main__":  # pragma: no cover
    main()
