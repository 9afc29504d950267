"""A project's own statement "not 两高" / "not chemical" never outweighs its industry code
(cold trial: C2614 declared two_high=false, chemical=false came out compliant where 两高 and
chemical projects are prohibited). For a class code the stated False changes no verdict and no
rule outcome; the contradiction is said. True statements still count.

Truth: the same site screened without the statement; the flags of GB/T 4754 classes from the
bundled table (every class; hypothesis picks them).
"""
from __future__ import annotations

import shapely
import geopandas as gpd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.api import screen
from zoning.screening.attributes import industry_index, stricter

INDEX = industry_index()
TWO_HIGH = sorted(INDEX.two_high)
CHEMICAL = sorted(INDEX.chemical)
#: 武夷山市 general unit in the "no 两高" belt, a plain spot outside any park, the 金塘 chemical park
SPOTS = [(118.16967, 27.67357), (118.30, 26.90), (117.45, 27.266)]


def _outcomes(results) -> list:
    return [(r.verdict, sorted((x.id, x.outcome) for x in r.rules)) for r in results]


def _sites(codes: list[str]) -> gpd.GeoDataFrame:
    rows = [(f"{code}@{k}", code, shapely.Point(*spot).buffer(0.002)) for code in codes for k, spot in enumerate(SPOTS)]
    return gpd.GeoDataFrame({"site_id": [r[0] for r in rows], "industry": [r[1] for r in rows]},
                            geometry=[r[2] for r in rows], crs=4490)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codes=st.lists(st.sampled_from(TWO_HIGH + CHEMICAL + sorted(INDEX.classes)[:400:7]), min_size=1, max_size=4,
                      unique=True))
def test_declaring_false_changes_nothing_for_a_class_code(layers, codes):
    sites = _sites(codes)
    plain = screen(sites, layers=layers, attributes={"boiler_th": 0, "clear_share": 0}, compute="local")
    denied = screen(sites, layers=layers, compute="local",
                    attributes={"boiler_th": 0, "clear_share": 0, "two_high": False, "chemical": False})
    assert _outcomes(denied) == _outcomes(plain)
    for r in denied:
        code = r.inputs["industry"]
        said = " ".join(r.warnings)
        assert ("declared not two-high" in said) == (code in INDEX.two_high)
        assert ("declared not chemical" in said) == (code in INDEX.chemical)


def test_the_cold_trial_case_is_prohibited_and_true_statements_count(layers):
    site = _sites(["C2614"]).iloc[[0]]
    r = screen(site, layers=layers, compute="local",
               attributes={"two_high": False, "chemical": False, "boiler_th": 0, "clear_share": 0})[0]
    assert r.verdict == "prohibited" and {"ZH350782-3-01", "CH-01"} <= {x.id for x in r.rules
                                                                       if x.outcome == "prohibited"}
    food = _sites(["C1371"]).iloc[[0]]  # a food class: not 两高; stating it is makes it so
    stated = screen(food, layers=layers, compute="local", attributes={"two_high": True, "boiler_th": 0})[0]
    assert stated.derived["is_two_high"] is True and stated.verdict == "prohibited"


def test_stricter_reading():
    assert [stricter(s, i) for s in (None, False, True) for i in (None, False, True)] == \
        [None, False, True, False, False, True, True, True, True]
