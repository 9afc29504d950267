import numpy as np
import pytest
from pyproj import Geod

from zoning.geo.crs import (bd09_to_wgs84, gcj02_to_wgs84, gk_epsg_for_lon, parse_crs, parse_dms_pair,
                        wgs84_to_bd09, wgs84_to_gcj02)
from zoning.errors import CRSProblem

GEOD = Geod(ellps="GRS80")


def _random_nanping(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(117.0, 119.3, n), rng.uniform(26.2, 28.4, n)


def test_gcj02_offset_is_hundreds_of_metres_and_inverse_is_sub_half_metre():
    lon, lat = _random_nanping()
    glon, glat = wgs84_to_gcj02(lon, lat)
    _, _, offset = GEOD.inv(lon, lat, glon, glat)
    # GCJ-02 shifts Nanping by a few hundred metres (this is why silent use is dangerous)
    assert 200 < offset.min() and offset.max() < 800
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    _, _, err = GEOD.inv(lon, lat, back_lon, back_lat)
    assert err.max() < 0.5  # the bound; the iteration actually reaches ~1e-6 m
    assert err.max() < 0.001


def test_bd09_inverse_round_trip():
    lon, lat = _random_nanping(seed=1)
    blon, blat = wgs84_to_bd09(lon, lat)
    _, _, offset = GEOD.inv(lon, lat, blon, blat)
    assert offset.min() > 500  # BD-09 adds ~0.0065/0.006 deg on top of GCJ-02
    back = bd09_to_wgs84(blon, blat)
    _, _, err = GEOD.inv(lon, lat, *back)
    assert err.max() < 0.5


def test_gk_zone_boundary_at_118_30():
    assert gk_epsg_for_lon(118.49) == 4548
    assert gk_epsg_for_lon(118.51) == 4549


@pytest.mark.parametrize("text,expected", [
    ("118°10'30\"E 26°38'24\"N", (118.175, 26.64)),
    ("26°38'24\"N 118°10'30\"E", (118.175, 26.64)),
    ("东经118度10分30秒 北纬26度38分24秒", (118.175, 26.64)),
    ("118°10′30″ 26°38′24″", (118.175, 26.64)),
])
def test_dms_pairs(text, expected):
    lon, lat = parse_dms_pair(text)
    assert lon == pytest.approx(expected[0], abs=1e-9)
    assert lat == pytest.approx(expected[1], abs=1e-9)


def test_dms_rejects_minutes_over_60():
    with pytest.raises(CRSProblem):
        parse_dms_pair("118°70'00\"E 26°38'24\"N")


def test_parse_crs_forms():
    assert parse_crs("4548").to_epsg() == 4548
    assert parse_crs("EPSG:4490").to_epsg() == 4490
    assert parse_crs("GCJ-02") == "gcj02"
    assert parse_crs("bd09") == "bd09"
    with pytest.raises(CRSProblem):
        parse_crs("not a crs")
