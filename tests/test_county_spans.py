"""A site across a county boundary says so: which counties hold it and what share (cold trial: a
site 6.8 % in 建瓯市 was reported in 延平区 only). Batch summaries group such notes, and the
notes on how a file's columns were read, as one kind each.

Truth: shapely on the county layer file the catalog names, in an equal-area projection.
"""
from __future__ import annotations

import re

import geopandas as gpd
import shapely

from zoning.api import screen
from zoning.geo.crs import EQUAL_AREA_CRS
from zoning.render.warnings import summarise, warning_kind


def _admin(layers) -> gpd.GeoDataFrame:
    spec = next(x for x in layers.catalog.layers if x.role == "admin")
    return gpd.read_file(spec.path).to_crs(4490)


def test_a_site_across_counties_names_them_with_shares(layers):
    admin = _admin(layers)
    a, b = admin.geometry.iloc[0], admin.geometry.iloc[1:]
    border = shapely.intersection(a.boundary, b.union_all())
    p = shapely.line_interpolate_point(border, 0.5, normalized=True) if not border.is_empty else None
    if p is None or p.geom_type != "Point":
        p = shapely.get_geometry(shapely.get_parts(border)[0], 0).representative_point()
    site = shapely.box(p.x - 0.01, p.y - 0.01, p.x + 0.01, p.y + 0.01)
    inside = shapely.Point(a.representative_point()).buffer(0.001)
    results = screen(gpd.GeoDataFrame({"site_id": ["X", "IN"]}, geometry=[site, inside], crs=4490), layers=layers)
    note = [w for w in results[0].warnings if "the site spans" in w]
    assert len(note) == 1 and not any("the site spans" in w for w in results[1].warnings)
    site_ea = gpd.GeoSeries([site], crs=4490).to_crs(EQUAL_AREA_CRS).iloc[0]
    truth = {}
    for name, geom in zip(admin["name"], gpd.GeoSeries(admin.geometry, crs=4490).to_crs(EQUAL_AREA_CRS)):
        share = site_ea.intersection(geom).area / site_ea.area
        if share >= 0.001:
            truth[name] = share
    said = {m.group(1): float(m.group(2)) / 100 for m in re.finditer(r"(\S+) \((\d+\.\d)%\)", note[0].split(" / ")[1])}
    assert len(truth) >= 2 and said.keys() == truth.keys()
    assert all(abs(said[k] - truth[k]) <= 0.0006 for k in truth)  # shown to 0.1 %
    assert results[0].site.county == max(truth, key=truth.get)
    assert warning_kind(note[0]) == "counties"


def test_column_notes_are_one_kind():
    texts = ["列 行业代码 读作 industry / column 行业代码 read as industry", "列 XMMC 读作 name / column XMMC read as name",
             "未识别为筛查属性的列（未用于判断，原样写入汇总表）：备注 / columns not used as screening attributes "
             "(carried into the summaries as they are): 备注; map one with --field NAME=COLUMN"]
    assert {warning_kind(t) for t in texts} == {"columns"}
    assert warning_kind("未声明坐标系 / no CRS given: read as CGCS2000 lon/lat") == "no_crs"

    class R:  # the two fields summarise reads
        def __init__(self, sid, warnings):
            self.site_id, self.warnings = sid, warnings

    groups = summarise([R("A", texts), R("B", texts[:1])])
    assert [(g["kind"], g["count"]) for g in groups] == [("columns", 2)]


def test_export_names_screened_sites_that_lie_in_no_county(layers, tmp_path):
    """zoning export --results: a screened site outside every county goes into no county's folder;
    every manifest names it and the command exits 1 (cold trial: dropped without a word, exit 0)."""
    import json

    from click.testing import CliRunner

    from zoning.api import write_screen_outputs
    from zoning.cli import main
    from zoning.cli._common import EXIT_PARTIAL

    from conftest import CATALOG

    sites = gpd.GeoDataFrame({"site_id": ["IN", "FAR"]}, geometry=[shapely.Point(118.17, 26.64).buffer(0.002),
                                                                  shapely.box(125.96, 27.56, 125.97, 27.57)], crs=4490)
    write_screen_outputs(screen(sites, layers=layers), tmp_path / "res", layers=layers, reports=False)
    res = CliRunner().invoke(main, ["export", "--county", "延平区", "--results", str(tmp_path / "res"), "--format", "gpkg",
                                    "--catalog", str(CATALOG), "-o", str(tmp_path / "exp")])
    assert res.exit_code == EXIT_PARTIAL, res.output
    manifest = json.loads(next((tmp_path / "exp").glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert manifest["outside_counties"] == ["FAR"]
    assert any("FAR" in w and "no county" in w for w in manifest["warnings"])
    assert "FAR" in res.output


def test_export_console_counts_each_feature_once(layers, tmp_path):
    """The console's feature count: the same whatever formats are written (a GeoPackage holds
    every layer at once; it was added on top of the shapefiles')."""
    import json

    from click.testing import CliRunner

    from zoning.cli import main

    from conftest import CATALOG

    counts = {}
    for fmt in ("shp", "gpkg", "shp,gpkg", "shp,kml,csv"):
        out = tmp_path / fmt.replace(",", "_")
        res = CliRunner().invoke(main, ["export", "--county", "武夷山市", "--format", fmt, "--catalog", str(CATALOG),
                                        "-o", str(out)])
        assert res.exit_code == 0, res.output
        row = next(line for line in res.output.splitlines() if line.startswith("武夷山市"))
        counts[fmt] = int(row.split()[3])
        manifest = json.loads(next(out.glob("*/manifest.json")).read_text(encoding="utf-8"))
        truth = sum(f["features"] for f in manifest["files"] if f["format"].startswith("shp")) if "shp" in fmt \
            else manifest["files"][0]["features"]
        assert counts[fmt] == truth
    assert len(set(counts.values())) == 1, counts
