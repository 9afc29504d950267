"""``zoning sample build``: the bundled synthetic Nanping layer set."""
from __future__ import annotations

from pathlib import Path

import click

from zoning.cli._common import CATALOG_OPTION, FiniteFloatRange, ZoningGroup, note
from zoning.io.catalog import load_catalog


@click.group(cls=ZoningGroup)
def sample() -> None:
    """The bundled Nanping sample layer set."""


@sample.command("build")
@CATALOG_OPTION
@click.option("--resolution", type=FiniteFloatRange(min=10), default=None,
              help="Carbon raster pixel size in metres (default 100; 30 builds the benchmark raster only).")
@click.option("--force", is_flag=True, help="Rebuild even when the files exist.")
@click.option("--province", "province_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instead: build the province-size benchmark set (2,000 units, 500,000 stands, 30 m COG) here.")
@click.option("--stands", type=click.IntRange(min=1000), default=500_000, show_default=True,
              help="With --province: number of forest stands.")
def sample_build(catalog, resolution, force, province_dir, stands):
    """Generate the synthetic sample layers (deterministic, fixed seed)."""
    from zoning.sample import build_sample

    if province_dir is not None:
        from zoning.sample.province import build_province

        path = build_province(province_dir, resolution=resolution or 30.0, stands=stands, progress=note)
        click.echo(f"province catalog: {path}")
        return
    cat = load_catalog(catalog)
    out_dir = cat.one("red_line").path.parent
    bundled = resolution in (None, 100.0)
    if bundled and not force and not cat.missing_files():
        if not (out_dir / "official").is_dir():  # issue 12: the official-style delivery of older trees
            from zoning.sample.official import write_official_delivery

            click.echo(f"official       {write_official_delivery(out_dir, out_dir / 'official')}")
        click.echo(f"样例图层已存在 / sample layers present in {out_dir} (use --force to rebuild)")
        return
    written = build_sample(out_dir, admin_path=cat.one("admin").path, resolution=resolution or 100.0,
                           with_vectors=bundled or force or bool(cat.missing_files()), progress=note)
    for key, path in written.items():
        click.echo(f"{key:20s} {path}")
