"""results/<name>.json: a site whose id is a file name as it is keeps that name; cleaned ids
(``a/b`` → ``a_b``) never take it from it (cold trial: the site named ``a_b`` was written to
a_b_2.json while a_b.json held the result of ``a/b``); names stay unique, letter case ignored.

Truth: the site id inside each file written.
"""
from __future__ import annotations

import json

import geopandas as gpd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.api import screen, write_screen_outputs
from zoning.escape import safe_filename
from zoning.export.screening import file_stems

IDS = st.lists(st.sampled_from(["a/b", "a_b", "A_B", "x", "X", "CON", "..", "a b", "项目1", "项目/1", "项目_1"])
               | st.text(min_size=1, max_size=6), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(ids=IDS)
def test_stems_are_unique_and_clean_ids_keep_their_own(ids):
    stems = file_stems(ids)
    assert len({s.lower() for s in stems}) == len(ids)
    assert all(s == safe_filename(s, default="site") for s in stems)
    seen: set[str] = set()
    for sid, stem in zip(ids, stems):
        if sid == safe_filename(sid, default="site") and sid.lower() not in seen:
            assert stem == sid
            seen.add(sid.lower())


def test_each_file_holds_the_site_its_name_says(layers, tmp_path):
    ids = ["a/b", "a_b", "A_B", "c"]
    sites = gpd.GeoDataFrame({"site_id": ids}, geometry=[shapely.Point(118.17 + 0.01 * k, 26.64) for k in range(4)],
                             crs=4490)
    write_screen_outputs(screen(sites, layers=layers), tmp_path / "o", layers=layers, reports=False)
    held = {p.stem: json.loads(p.read_text(encoding="utf-8"))["site_id"] for p in (tmp_path / "o" / "results").glob("*.json")}
    assert held["a_b"] == "a_b" and held["c"] == "c" and held["a_b_2"] == "a/b"
    assert sorted(held.values()) == sorted(ids)
