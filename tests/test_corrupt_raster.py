"""A corrupt carbon GeoTIFF (random bytes in its middle) fails `layers check` and never crashes `screen`."""
import json
import random
import shutil

import pytest
from click.testing import CliRunner

from zoning.cli import main

POLY = "118.1380,26.8080;118.1390,26.8080;118.1390,26.8090;118.1380,26.8090"


@pytest.fixture(scope="module")
def corrupt_catalog(tmp_path_factory, catalog):
    root = tmp_path_factory.mktemp("corrupt")
    src = catalog.one("red_line").path.parents[2]  # .../layers
    shutil.copytree(src, root / "layers")
    tif = root / "layers" / "nanping" / "generated" / "forest_carbon_100m.tif"
    raw = bytearray(tif.read_bytes())
    rng = random.Random(11)
    mid = len(raw) // 2
    raw[mid:mid + 20000] = bytes(rng.getrandbits(8) for _ in range(20000))
    tif.write_bytes(bytes(raw))
    return root / "layers" / "catalog.yaml"


def test_layers_check_decodes_every_block(corrupt_catalog, catalog):
    from zoning.io.validate import validate_raster

    good = validate_raster(catalog.one("forest_carbon"))
    assert good.status == "ok", good
    from zoning.io.catalog import load_catalog

    check = validate_raster(load_catalog(corrupt_catalog).one("forest_carbon"))
    assert check.status == "failed"
    blocks = [f for f in check.findings if f.check == "blocks"]
    assert blocks and not blocks[0].ok and "window col" in blocks[0].detail
    res = CliRunner().invoke(main, ["layers", "check", "--catalog", str(corrupt_catalog)])
    assert res.exit_code != 0, res.output


def test_screen_with_a_corrupt_raster_fails_the_carbon_section_not_the_run(corrupt_catalog, tmp_path):
    for site in ("118.138367,26.808634", POLY):
        out = tmp_path / str(len(site))
        res = CliRunner().invoke(main, ["screen", site, "-a", "industry=C1371", "--catalog", str(corrupt_catalog),
                                        "-o", str(out)])
        assert res.exit_code in (0, 1), res.output
        assert "内部错误" not in res.output and "internal error" not in res.output
        assert (out / "map.html").exists() and (out / "result.json").exists()
    result = json.loads((out / "result.json").read_text())
    site = result["sites"][0] if "sites" in result else result
    text = json.dumps(site, ensure_ascii=False)
    assert '"failed"' in text
    layers = {lr["role"]: lr for lr in site.get("layers", result.get("layers", []))}
    assert layers["forest_carbon"]["status"] == "failed"
    assert site["carbon"]["status"] == "failed" and "corrupt" in site["carbon"]["detail"]
    deps = [r for r in site.get("rules", []) if r["id"] == "WY-01"]
    assert not deps or deps[0]["outcome"] == "needs_info"


def test_stock_on_a_corrupt_block_raises_carbon_error(corrupt_catalog):
    import geopandas as gpd
    from shapely.geometry import box

    from zoning.carbon.density import open_density, stock
    from zoning.errors import CarbonError
    from zoning.io.catalog import load_catalog

    spec = load_catalog(corrupt_catalog).one("forest_carbon")
    raster = open_density(spec.path, units=spec.units)
    whole = gpd.GeoDataFrame(geometry=[box(117.5, 26.2, 119.0, 28.3)], crs="EPSG:4490")
    with pytest.raises(CarbonError, match="corrupt"):
        stock(whole, raster, workers=1)


def test_map_overlay_skips_a_corrupt_raster(corrupt_catalog):
    from zoning.io.catalog import load_catalog
    from zoning.io.layerset import load_layerset
    from zoning.render.maps import _raster_overlay

    assert _raster_overlay(load_layerset(load_catalog(corrupt_catalog)), "zh") is None
