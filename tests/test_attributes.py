"""Unambiguous attribute values (issue 11, item 9): shares, NaN and infinity, everywhere a
project attribute is read (``-a``, the Python API, site-file columns)."""
from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.cli import main
from zoning.errors import AttributeProblem
from zoning.screening.attributes import ATTRIBUTES, parse_mapping, parse_pairs, parse_value
from zoning.screening.pipeline import screen


@pytest.mark.parametrize("text,share", [("35%", 0.35), ("0.35", 0.35), ("35 %", 0.35), ("35％", 0.35), ("1", 1.0),
                                        ("100%", 1.0), ("0", 0.0), ("0%", 0.0), ("1.5%", 0.015), (0.2, 0.2),
                                        (1, 1.0)])
def test_shares_accept_fractions_and_percentages(text, share):
    assert parse_value("renewable_share", text) == pytest.approx(share, abs=1e-12)
    assert parse_value("clear_share", text) == pytest.approx(share, abs=1e-12)


@pytest.mark.parametrize("text,hint", [("1.5", "1.5%"), ("35", "35%"), (30, "30%"), ("100", "100%")])
def test_bare_shares_above_one_are_refused_with_a_hint(text, hint):
    with pytest.raises(AttributeProblem, match="ambiguous") as exc:
        parse_value("renewable_share", text)
    assert hint in exc.value.en and hint in exc.value.zh


@pytest.mark.parametrize("key", ["boiler_th", "energy_tce", "renewable_share", "clear_share"])
@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", float("inf"), float("-inf"), "1e999",
                                  "abc", "-1", "150%", True])
def test_nan_infinity_and_nonsense_are_refused(key, text):
    with pytest.raises(AttributeProblem, match=key):
        parse_value(key, text)


def test_missing_stays_missing():
    for key in ATTRIBUTES:
        for empty in (None, float("nan"), "", "  ", "-", "null", "None"):
            assert parse_value(key, empty) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                 st.text(max_size=8)), st.sampled_from(["boiler_th", "energy_tce", "renewable_share", "clear_share"]))
def test_every_accepted_number_is_finite_and_in_range(value, key):
    try:
        got = parse_value(key, value)
    except AttributeProblem:
        return
    if got is None:  # only an empty cell may come back as missing
        assert value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in (
            "", "-", "—", "null", "NULL", "None")
        return
    assert math.isfinite(got) and got >= 0
    if ATTRIBUTES[key][0] == "share":
        assert got <= 1
        text = str(value).strip()
        if not text.endswith(("%", "％")):  # a bare number is taken as it is, never divided by 100
            assert got == pytest.approx(float(text))


def test_aliases_and_unknown_keys():
    assert parse_mapping({"锅炉容量": "8", "boiler_fuel": "燃煤"}) == {"boiler_th": 8.0, "boiler_fuel": "coal"}
    assert parse_mapping({"boiler_th": 8, "锅炉容量": 9})["boiler_th"] == 8.0  # the canonical name wins
    with pytest.raises(AttributeProblem, match="colour"):
        parse_mapping({"colour": "red"})
    with pytest.raises(AttributeProblem, match="KEY=VALUE"):
        parse_pairs(["boiler_th"])


def test_cli_refuses_ambiguous_and_non_finite_values(catalog):
    run = CliRunner().invoke
    res = run(main, ["screen", "118.17,26.64", "-a", "renewable_share=1.5", "--catalog", str(catalog.path)])
    assert res.exit_code == 2 and "1.5%" in res.output
    res = run(main, ["screen", "118.17,26.64", "-a", "boiler_th=nan", "--catalog", str(catalog.path)])
    assert res.exit_code == 2 and "boiler_th" in res.output


def test_site_file_columns_are_checked_per_site(catalog):
    from zoning.io.layerset import load_layerset

    layers = load_layerset(catalog)
    box = shapely.box(118.52, 27.0, 118.522, 27.002)
    gdf = gpd.GeoDataFrame({"id": ["ok", "inf", "share", "pct", "empty"],
                            "industry": ["C2041"] * 5,
                            "boiler_th": [8.0, float("inf"), 0.0, 0.0, float("nan")],
                            "renewable_share": [0.35, 0.35, 35.0, "35%", None]},
                           geometry=[box] * 5, crs=4490)
    res = {r.site_id: r for r in screen(gdf, layers=layers)}
    assert res["ok"].error is None and res["ok"].inputs["renewable_share"] == 0.35
    assert res["inf"].verdict is None and "boiler_th" in res["inf"].error
    assert res["share"].verdict is None and "35%" in res["share"].error
    assert res["pct"].error is None and res["pct"].inputs["renewable_share"] == pytest.approx(0.35)
    assert res["empty"].error is None and res["empty"].inputs["boiler_th"] is None


@pytest.mark.parametrize("key", ["energy_tce", "boiler_th", "renewable_share", "clear_share"])
def test_nan_given_as_an_attribute_is_refused_like_on_the_command_line(key):
    """zoning.screen(attributes={key: nan}) is a mistake (the CLI refuses 'nan'); an empty cell of a
    site table (NaN after pandas) still means "not known"."""
    import zoning
    from zoning.errors import AttributeProblem

    with pytest.raises(AttributeProblem, match="NaN"):
        zoning.screen("118.17,26.64", attributes={key: float("nan")})


def test_a_value_given_for_all_sites_that_replaces_a_sites_own_is_said(layers):
    """attributes= (the CLI's -a, the API's attributes, the page's form) replace a site's own column
    values: the site whose own value differs gets a warning naming both; an equal one does not."""
    import geopandas as gpd
    import shapely

    from zoning.api import screen

    x, y = layers.coverage.representative_point().coords[0]
    f = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "industry": ["C2614", "C1371", None]},
                         geometry=[shapely.Point(x, y), shapely.Point(x + 0.01, y), shapely.Point(x, y + 0.01)],
                         crs=4490)
    r = {x.site_id: x for x in screen(f, layers=layers, attributes={"industry": "C1371"}, compute="local")}
    assert all(x.inputs["industry"] == "C1371" for x in r.values())
    said = {k: [w for w in v.warnings if "replaces the site's own" in w] for k, v in r.items()}
    assert len(said["A"]) == 1 and "C2614" in said["A"][0] and "C1371" in said["A"][0]
    assert said["B"] == [] and said["C"] == []
