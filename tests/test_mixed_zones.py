"""Survey tables (界址点) of a city on a zone boundary: Nanping straddles 118°30′E, so a
city-wide table mixes zone-prefixed eastings of 3-degree zones 39 and 40 (and 6-degree zone 20
sheets exist). Each site is read in the zone its own prefix names; a site whose corners carry
two prefixes, or a given CRS whose zone contradicts a site's prefix, is that site's error.

Truth: pyproj's own transformation of made-up lon/lat corners into each zone (EPSG:4527/4528).
"""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from zoning.api import read_sites
from zoning.errors import CRSProblem
from zoning.geo.crs import GK_ZONE_PREFIX_EPSG

TO_ZONE = {z: Transformer.from_crs(4490, GK_ZONE_PREFIX_EPSG[z], always_xy=True) for z in (39, 40)}


def corner_rows(sid: str, lon: float, lat: float, zone: int, d: float = 0.004) -> list[str]:
    """A square site's 界址点 rows (X = northing, Y = easting with the zone prefix), in ``zone``."""
    ring = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)]
    east, north = TO_ZONE[zone].transform([p[0] for p in ring], [p[1] for p in ring])
    return [f"{sid},J{k + 1},{n:.3f},{e:.3f}" for k, (e, n) in enumerate(zip(east, north))]


def table(rows: list[str]) -> str:
    return "表1 界址点坐标表（CGCS2000，3度带）\n地块编号,点号,X坐标,Y坐标\n" + "\n".join(rows) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sites=st.lists(st.tuples(st.floats(117.2, 119.7), st.floats(26.2, 28.3)), min_size=2, max_size=6))
def test_each_site_is_read_in_the_zone_its_prefix_names(tmp_path_factory, sites):
    zones = [39 if lon < 118.5 else 40 for lon, _ in sites]
    rows = [r for i, ((lon, lat), z) in enumerate(zip(sites, zones)) for r in corner_rows(f"D{i}", lon, lat, z)]
    path = tmp_path_factory.mktemp("zones") / "界址点.csv"
    path.write_text(table(rows), encoding="utf-8")
    got = read_sites(path, on_error="flag")
    assert got["error"].isna().all(), got["error"].tolist()
    for (lon, lat), z, geom, crs_in in zip(sites, zones, got.geometry, got["crs_in"]):
        assert crs_in.startswith(f"EPSG:{GK_ZONE_PREFIX_EPSG[z]}")
        corners = shapely.get_coordinates(geom)[:4]
        want = np.array([(lon, lat), (lon + 0.004, lat), (lon + 0.004, lat + 0.004), (lon, lat + 0.004)])
        assert np.abs(corners - want).max() < 1e-8  # the millimetres of the table, back in degrees


def test_a_site_with_two_prefixes_is_its_own_error(tmp_path):
    rows = corner_rows("A", 118.2, 26.7, 39) + corner_rows("B", 118.9, 27.5, 40)
    east, north = TO_ZONE[40].transform(118.3, 26.8)
    rows.insert(2, f"A,J9,{north:.3f},{east:.3f}")  # one corner of A written in zone 40
    path = tmp_path / "mixed.csv"
    path.write_text(table(rows), encoding="utf-8")
    got = read_sites(path, on_error="flag").set_index("site_id")
    assert "two different zone prefixes" in got.loc["A", "error"] and got.loc["B", "error"] is None
    with pytest.raises(CRSProblem, match="two different zone prefixes"):
        read_sites(tmp_path / "mixed.csv", on_error="raise")


@pytest.mark.parametrize("given_crs,bad", [("4528", {"A"}), ("4527", {"B"})])
def test_a_given_crs_that_contradicts_a_prefix_is_refused_for_that_site(tmp_path, given_crs, bad):
    """Read in the other zone a site lands ~300 km away, still in China: never silently."""
    path = tmp_path / "two.csv"
    path.write_text(table(corner_rows("A", 118.2, 26.7, 39) + corner_rows("B", 118.9, 27.5, 40)), encoding="utf-8")
    got = read_sites(path, crs=given_crs, on_error="flag").set_index("site_id")
    assert {s for s in got.index if isinstance(got.loc[s, "error"], str)} == bad
    assert all("does not match" in got.loc[s, "error"] for s in bad)


@pytest.mark.parametrize("lon,zone", [(118.45, 40), (118.55, 39), (118.2, 39), (118.8, 40)])
def test_a_surveyed_site_keeps_its_zone_area_and_corners(layers, lon, zone):
    """A 界址点 table in the zone it was surveyed in (also across 118°30′): the Gauss-Kruger area is
    the table's own shoelace area, and the corners come back to the millimetre."""
    from zoning.api import screen

    east0, north0 = TO_ZONE[zone].transform(lon, 26.9)
    corners = [(north0, east0), (north0, east0 + 200), (north0 + 200, east0 + 200), (north0 + 200, east0)]
    text = "地块编号,点号,X,Y\n" + "\n".join(f"S,J{k + 1},{x:.3f},{y:.3f}" for k, (x, y) in enumerate(corners))
    r = screen(text, layers=layers)[0]
    xs, ys = np.array([c[0] - north0 for c in corners]), np.array([c[1] - east0 for c in corners])  # no 1e14 products
    shoelace = abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2
    assert r.crs_used == f"EPSG:{4534 + zone - 25}"
    assert abs(r.site.area_gk_m2 - shoelace) < 1e-3
    got = [(c["x"], c["y"]) for c in r.site.corners]
    assert all(abs(gx - x) < 1e-3 and abs(gy - (y - zone * 1e6)) < 1e-3 for (gx, gy), (x, y) in zip(got, corners))


def test_prefixed_eastings_under_the_plain_crs_of_their_zone_are_read(tmp_path):
    """--crs 4548 (CM 117E, no prefix) for eastings 39xxxxxx: read as zone 39 (EPSG:4527) with a
    note; a site whose prefix names zone 40 is that site's error."""
    path = tmp_path / "pref.csv"
    path.write_text(table(corner_rows("A", 118.2, 26.7, 39) + corner_rows("B", 118.9, 27.5, 40)), encoding="utf-8")
    got = read_sites(path, crs="4548", on_error="flag").set_index("site_id")
    assert got.loc["A", "error"] is None and got.loc["A", "crs_in"].startswith("EPSG:4527")
    assert abs(shapely.get_coordinates(got.loc["A", "geometry"])[0] - np.array([118.2, 26.7])).max() < 1e-8
    assert "does not match" in got.loc["B", "error"]
    assert any("read as EPSG:4527" in w for w in got.loc["A", "warnings"])
