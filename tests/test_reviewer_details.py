"""Details a reviewer meets, from the fourth cold trial: the page's own fuel words are accepted
(无锅炉), the answer page names clause statuses in Chinese, typed coordinates are called 坐标 in
the Chinese half of a message, a KML <MultiGeometry> (a polygon with its label point) is screened
by its polygon, a site that could not be read has no area (not 0 m²), and a wrong CRS prints no
library warning.

Truth: the page's own labels, the vocabulary's Chinese statuses, the geometry as written.
"""
from __future__ import annotations

import re
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient

import zoning.service.pages as pages
from zoning.api import read_sites, screen, write_screen_outputs
from zoning.cli import main
from zoning.errors import CRSProblem
from zoning.screening.attributes import parse_value
from zoning.service import Settings, create_app
from zoning.vocabulary import CLAUSE_STATUS_ZH

from conftest import CATALOG


def test_every_fuel_word_of_the_page_is_accepted():
    words = next(v for v in vars(pages).values() if isinstance(v, dict) and "fuel_none" in v)
    for key, (zh, en) in words.items():
        if key.startswith("fuel_"):
            assert parse_value("boiler_fuel", zh) == parse_value("boiler_fuel", en) == key[5:]


def test_answer_page_names_clause_statuses_in_chinese(layers, tmp_path):
    with TestClient(create_app(Settings(catalog=CATALOG, db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w"),
                               layers=layers)) as c:
        got = c.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [118.17, 26.64]},
                                               "attributes": {"industry": "C3011"}}).json()
        assert got["clauses"], "the sample clause library gives this unit clauses"
        page = c.get(f"/screenings/{got['id']}").text
    table = page[page.index('<table id="clauses">'):]
    table = table[:table.index("</table>")]
    statuses = re.findall(r"<td>([^<]*?)(?: \([^)]*\))?</td></tr>", table)
    assert statuses and set(statuses) <= set(CLAUSE_STATUS_ZH.values()), statuses


def test_typed_coordinates_are_called_zuobiao_in_chinese():
    with pytest.raises(CRSProblem) as err:
        read_sites("26.64,118.17")
    assert err.value.zh.startswith("坐标：") and err.value.en.startswith("coordinates:")


def test_a_multigeometry_placemark_is_screened_by_its_polygon(tmp_path):
    kml = tmp_path / "multi.kml"
    kml.write_text("""<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>厂区</name><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>118.17,26.64 118.175,26.64
118.175,26.645 118.17,26.645 118.17,26.64</coordinates></LinearRing></outerBoundaryIs></Polygon>
<Point><coordinates>118.171,26.641</coordinates></Point></MultiGeometry></Placemark></Document></kml>""",
                   encoding="utf-8")
    got = read_sites(kml, on_error="flag")
    assert got["error"].isna().all()
    assert got.geometry.iloc[0].equals(shapely.box(118.17, 26.64, 118.175, 26.645))
    assert any("geometry collection" in w and "1 other part" in w for w in got["warnings"].iloc[0])


def test_a_site_that_could_not_be_read_has_no_area(layers, tmp_path):
    sites = gpd.GeoDataFrame({"site_id": ["OK", "BAD"]}, geometry=[shapely.Point(118.17, 26.64).buffer(0.001), None],
                             crs=4490)
    write_screen_outputs(screen(sites, layers=layers), tmp_path / "o", layers=layers, reports=False)
    row = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig").set_index("站点编号").loc["BAD"]
    assert pd.isna(row["面积·椭球面（平方米）"]) and pd.isna(row["面积·椭球面（公顷）"])


def test_a_wrong_crs_prints_no_library_warning(tmp_path):
    table = tmp_path / "gk.csv"
    table.write_text("地块编号,点号,X,Y\nA,1,2947123.4,39616456.7\nA,2,2947123.4,39616656.7\nA,3,2947323.4,39616656.7\n",
                     encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_sites(table, crs="4549", on_error="flag")  # zone-prefixed eastings under a CRS without prefix
    out = CliRunner().invoke(main, ["sites", str(table), "--crs", "4549"])
    assert "RuntimeWarning" not in out.output
