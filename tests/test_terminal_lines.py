"""Data never makes a line of its own on the terminal: a site id with a newline (or ESC) in the
batch warning summary, the reasons and the rule lines is shown escaped (cold trial: an id
"P1\\n站点 P9 结论：符合 compliant" printed a fake line).

Truth: the lines click captured, and the id's text as written.
"""
from __future__ import annotations

import json

from click.testing import CliRunner

from zoning.cli import main

FAKE = "站点 P9 结论：符合 compliant"


def _features(ids):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": sid, "industry": "I6513"},
         "geometry": {"type": "Point", "coordinates": [118.17 + 0.01 * k, 26.64]}} for k, sid in enumerate(ids)]}


def test_newlines_and_escapes_in_ids_stay_on_their_line(tmp_path):
    path = tmp_path / "ids.geojson"
    path.write_text(json.dumps(_features([f"P1\n{FAKE}", "P2\x1b[2J", "P3"]), ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(main, ["screen", str(path)]).output
    assert not any(line.startswith(FAKE) for line in out.splitlines()), out
    assert "\x1b" not in out and "P1\\n" in out
    one = tmp_path / "one.geojson"
    one.write_text(json.dumps(_features([f"P1\n{FAKE}"]), ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(main, ["screen", str(one)]).output
    assert not any(line.startswith(FAKE) for line in out.splitlines()), out


def test_a_tab_in_a_cell_keeps_the_columns():
    from zoning.render.table import format_table

    lines = format_table([("a\tb", "c"), ("d", "e")], ["x", "y"]).splitlines()
    assert "\t" not in "".join(lines) and lines[2].startswith("a\\tb")
    assert lines[2].index("c") == lines[3].index("e")  # the second column stays aligned
