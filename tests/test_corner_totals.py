"""The 界址点 table a reviewer signs against is never a partial list called complete: a result
says how many corner points its polygon has (``site.corners_total``); beyond the 2,000 it lists,
a warning and both reports say the list is cut.

Truth: the vertex count of the polygon as built here (rings' coordinates minus closing points).
"""
from __future__ import annotations

import io

import docx
import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.api import screen
from zoning.geo.measure import corner_counts
from zoning.render.docx_report import render_docx
from zoning.render.html_report import render_html


def _ring(n: int, cx: float, cy: float, r: float) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n + 1)[:-1]
    return np.c_[cx + r * np.cos(a), cy + r * np.sin(a)]


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.tuples(st.integers(3, 40), st.lists(st.integers(3, 12), max_size=2)), min_size=1, max_size=3))
def test_corner_counts_are_the_vertices_without_closing_points(parts):
    polys, want = [], 0
    for k, (outer, holes) in enumerate(parts):
        cx = 10.0 * k
        inner = [_ring(h, cx + (j - 0.5) * 0.4, 0, 0.1) for j, h in enumerate(holes)]
        polys.append(shapely.Polygon(_ring(outer, cx, 0, 1.0), inner))
        want += outer + sum(holes)
    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    assert corner_counts([geom, shapely.Point(0, 0), None]).tolist() == [want, 0, 0]


def test_a_cut_corner_list_is_said_everywhere(layers):
    big = shapely.Polygon(_ring(5000, 118.2, 26.7, 0.01))
    small = shapely.Polygon(_ring(7, 118.3, 26.8, 0.005))
    results = screen(gpd.GeoDataFrame({"site_id": ["BIG", "SMALL"]}, geometry=[big, small], crs=4490), layers=layers)
    r, s = results
    assert (r.site.corners_total, len(r.site.corners)) == (5000, 2000)
    assert (s.site.corners_total, len(s.site.corners)) == (7, 7)
    assert any("5,000 corner points" in w and "first 2,000" in w for w in r.warnings)
    assert not any("corner points" in w for w in s.warnings)
    page = render_html(r, lang="zh")
    assert "共 5,000 个界址点，此处只列出前 2,000 个（已截断）" in page and "共 2,000 个界址点" not in page
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(render_docx(r, lang="en"))).paragraphs)
    assert "5,000 corner points in all: the first 2,000 are listed (cut)" in text
    assert "共 7 个界址点。" in render_html(s, lang="zh")
