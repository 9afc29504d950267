"""Reviewer trial of issue 11: non-finite numbers in polygon literals; stored error messages; reasons."""
import pytest
from click.testing import CliRunner

from zoning.cli import main


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "Infinity", "1e3"])
@pytest.mark.parametrize("pos", [0, 1, 2])
def test_polygon_literal_with_a_non_finite_number_is_refused_as_such(bad, pos, tmp_path):
    pts = [["118.2", "26.6"], ["118.21", "26.6"], ["118.21", "26.61"]]
    pts[pos][pos % 2] = bad
    text = ";".join(",".join(p) for p in pts)
    res = CliRunner().invoke(main, ["screen", "-o", str(tmp_path), "--", text])
    assert res.exit_code == 2, res.output
    assert "finite" in res.output and "not found" not in res.output


def _screen(tmp_path, site, *attrs):
    import json

    from zoning.screening.result import ScreenResult

    args = ["screen", site, "-o", str(tmp_path), "--overwrite", "--quiet"]
    for a in attrs:
        args += ["-a", a]
    res = CliRunner().invoke(main, args)
    assert res.exit_code in (0, 1), res.output
    data = json.loads((tmp_path / "result.json").read_text())
    return ScreenResult.from_dict(data["sites"][0] if "sites" in data else data)


def test_short_reason_names_missing_attributes_not_a_layer_problem(tmp_path):
    from zoning.render.warnings import short_reason

    r = _screen(tmp_path, "118.205,26.685", "industry=C1371")
    assert r.verdict == "needs_info" and all(lr.status == "ok" for lr in r.layers if lr.role != "admin")
    text = short_reason(r)
    assert "layer problem" not in text and "missing attribute" in text and "boiler_fuel" in text


def test_division_and_2011_codes_are_named_as_such(tmp_path):
    from zoning.render.warnings import short_reason

    # (C26 with chemical=no is no longer this case: every class of C26 is chemical, and a statement
    # does not undo the standard's classes, see tests/test_declared_flags.py; C30 mixes 两高 classes)
    r = _screen(tmp_path, "118.205,26.685", "industry=C30", "boiler_th=0")
    assert r.verdict == "needs_info"
    assert "classes differ" in short_reason(r) and "C3011" in short_reason(r)
    assert not any("want of industry" in v for v in r.verdict_reasons)
    assert any("C30 is a division" in v for v in r.verdict_reasons)
    r = _screen(tmp_path, "118.205,26.685", "industry=C26", "chemical=no", "boiler_th=0")
    assert r.verdict == "prohibited" and any("declared not chemical" in w for w in r.warnings)
    r = _screen(tmp_path, "118.138367,26.808634", "industry=N7852")
    assert "N7852 is not a GB/T 4754-2017 class" in short_reason(r)
    assert not any("want of industry" in v for v in r.verdict_reasons)
    assert any("N7852 is not in GB/T 4754-2017" in v for v in r.verdict_reasons)


def test_no_boiler_in_a_no_burn_zone_leaves_no_boiler_rule_open(tmp_path):
    r = _screen(tmp_path, "118.205,26.685", "industry=C1371", "boiler_th=0")
    assert not {"BL-01", "BL-02"} & {x.id for x in r.rules if x.outcome == "needs_info"}


def test_stored_site_error_is_the_whole_message(tmp_path):
    """result.json keeps the whole error (hint included); only the console caps it at 140 chars."""
    import json

    sid = "P" + "x" * 160
    csv = tmp_path / "pts.csv"
    csv.write_text(f"site_id,lon,lat\nS1,118.17,26.64\n{sid},26.64,118.17\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["screen", str(csv), "-o", str(out), "--quiet"])
    assert res.exit_code in (0, 1), res.output
    import csv as csvmod

    rows = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    err = next(r for r in rows if r["site_id"] == sid)["error"]
    with open(out / "summary.csv", encoding="utf-8-sig") as fh:
        table = [r for r in csvmod.reader(fh) if r and r[0] == sid]
    assert table and err in table[0]
    assert sid in err and err.rstrip().endswith("swap them") and "…" not in err
    assert len(err.split(" | Error: ")[1]) > 140
