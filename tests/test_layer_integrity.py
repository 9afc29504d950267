"""Layer integrity at screening time (issue 11, item 3).

Every feature with a null, empty, invalid or out-of-range geometry and every layer whose
coordinates do not fit its declared CRS makes the layer ``partial`` or ``failed`` in the result,
with the feature ids; dependent rules become ``needs_info``, never a silent pass; ``layers
check`` and ``screen`` share one validation (zoning.io.validate). Broken layers are built in
tmp_path from copies of the sample layers; the truth (which feature a site touches) comes from
shapely on the stored geometries, not from the code under test.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.io.catalog import load_catalog
from zoning.io.checks import check_catalog
from zoning.io.layerset import load_layerset
from zoning.io.sites import read_sites
from zoning.io.validate import validate_catalog, validate_layer
from zoning.screening.pipeline import screen
from zoning.vocabulary import LAYER_STATUS_ZH

RL_ID = "红线编号"  # the source field the sample catalog maps to ``id``


def make_catalog(tmp_path: Path, catalog, replace: dict[str, Path], name: str = "catalog.yaml", **extra):
    """A copy of the sample catalog with absolute paths, ``replace`` = {role: new file}."""
    doc = yaml.safe_load(catalog.path.read_text(encoding="utf-8"))
    for entry, spec in zip(doc["layers"], catalog.layers):
        entry["path"] = str(replace.get(spec.role, spec.path))
        entry.update(extra.get(spec.role, {}))
    doc["rules"] = str(catalog.rule_pack)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_catalog(path)


@pytest.fixture(scope="module")
def red_line(catalog):
    return gpd.read_file(catalog.one("red_line").path, layer="red_line")


@pytest.fixture(scope="module")
def sample_sites(catalog):
    return read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")


@pytest.fixture(scope="module")
def baseline(catalog, sample_sites):
    return {r.site_id: r for r in screen(sample_sites, layers=load_layerset(catalog))}


def touched(sites: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, sid: str) -> list[str]:
    """Independent truth: ids of ``layer`` features the stored site overlaps (shapely, EPSG:4490)."""
    site = sites.loc[sites["site_id"] == sid].geometry.iloc[0]
    inter = shapely.intersection(layer.geometry.values, site)
    keep = np.where(site.geom_type.endswith("Polygon"), shapely.area(inter) > 0, ~shapely.is_empty(inter))
    return layer.loc[keep, RL_ID].astype(str).tolist()


def write_red_line(tmp_path: Path, frame: gpd.GeoDataFrame, name: str) -> Path:
    path = tmp_path / f"{name}.gpkg"
    frame.to_file(path, layer="red_line")
    return path


def failing(cat, role: str):
    """The failed findings of ``role`` as `layers check` reports them: check_catalog's per-layer
    findings are exactly validate_catalog's (asserted in test_layers_check_uses_the_one_validation)."""
    return [f for c in validate_catalog(cat.layers) for f in c.findings if not f.ok and f.role == role]


def red_record(result):
    return next(lr for lr in result.layers if lr.role == "red_line")


# ------------------------------------------------------------------------------------------
def test_null_geometry_of_a_hit_red_line_is_never_a_silent_pass(tmp_path, catalog, red_line, sample_sites, baseline):
    """Issue example: one red-line feature with a null geometry was dropped while the layer stayed
    "ok", and the prohibited project on it became conditional. Now the layer is partial with the id,
    RL-01/RL-02 are needs_info, and the verdict is needs_info (or prohibited by a rule that still hits)."""
    sid = "P01"
    ids = touched(sample_sites, red_line, sid)
    assert ids, "P01 sits in a red line (sample truth)"
    broken = red_line.copy()
    broken.loc[broken[RL_ID].isin(ids), "geometry"] = None
    cat = make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, broken, "null")})
    layers = load_layerset(cat)
    assert layers.info["red_line"].bad_ids == ids
    results = {r.site_id: r for r in screen(sample_sites, layers=layers)}
    r = results[sid]
    rec = red_record(r)
    assert rec.status == "partial" and rec.bad_ids == ids
    assert all(i in rec.detail for i in ids) and "null" in rec.detail
    rules = {x.id: x.outcome for x in r.rules}
    assert rules.get("RL-01") == "needs_info"
    assert r.verdict in ("needs_info", "prohibited")
    assert any(i in w for w in r.warnings for i in ids)
    assert all(red_record(res).status == "partial" for res in results.values())
    # one validation: `layers check` names the same feature and fails
    assert any(f.check == "geometry" and all(i in f.detail for i in ids) for f in failing(cat, "red_line"))


def test_p23_straddling_a_null_red_line_is_not_conditional(tmp_path, catalog, red_line, sample_sites, baseline):
    """The sample project that became conditional in the issue: whichever red line P23 straddles."""
    ids = touched(sample_sites, red_line, "P23")
    assert ids
    broken = red_line.copy()
    broken.loc[broken[RL_ID].isin(ids), "geometry"] = None
    layers = load_layerset(make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, broken, "p23")}))
    r = screen(sample_sites[sample_sites.site_id == "P23"], layers=layers)[0]
    assert baseline["P23"].verdict == "prohibited"
    assert r.verdict not in ("conditional", "compliant")
    assert {x.id: x.outcome for x in r.rules}.get("RL-01") == "needs_info"


@pytest.mark.parametrize("kind", ["bowtie", "out_of_range", "empty", "nan"])
def test_garbage_geometries_make_the_layer_partial_with_ids(tmp_path, catalog, red_line, kind):
    broken = red_line.copy()
    target = str(broken[RL_ID].iloc[3])
    x, y = broken.geometry.iloc[3].representative_point().coords[0]
    garbage = {"bowtie": shapely.Polygon([(x, y), (x + .01, y + .01), (x + .01, y), (x, y + .01)]),
               "out_of_range": shapely.box(1000, 2000, 1001, 2001),
               "empty": shapely.Polygon(),
               "nan": shapely.Polygon([(x, y), (np.nan, y), (x, y + .01)])}[kind]
    broken.loc[3, "geometry"] = garbage
    cat = make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, broken, kind)})
    check = validate_layer(cat.one("red_line"), area_box=tuple(load_layerset(catalog).coverage.bounds))
    assert check.status == "partial" and check.bad_ids == [target]
    layers = load_layerset(cat)
    assert layers.info["red_line"].integrity == "partial" and layers.info["red_line"].bad_ids == [target]
    assert target not in set(layers.frames["red_line"]["id"].astype(str))
    assert len(layers.frames["red_line"]) == len(red_line) - 1
    r = screen("118.30,27.00", layers=layers, attributes={"industry": "C2041", "two_high": False, "chemical": False})[0]
    rec = red_record(r)
    assert rec.status == "partial" and target in rec.detail and rec.bad_ids == [target]
    # the red-line rules cannot say "no red line here": a missing feature could be here
    assert {x.id: x.outcome for x in r.rules}.get("RL-01") == "needs_info"
    assert r.verdict != "compliant"
    findings = failing(cat, "red_line")
    assert findings and target in findings[0].detail


def test_gk_metres_labelled_4490_fail_in_check_and_screen(tmp_path, catalog, red_line, sample_sites, baseline):
    """Issue example: a red-line layer in GK metres labelled EPSG:4490 passed `layers check` and
    every screening. Now it fails both, with the same message."""
    gk = red_line.to_crs(4548).set_crs(4490, allow_override=True)
    cat = make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, gk, "gk")})
    fit = [f for f in failing(cat, "red_line") if f.check == "crs fit"]
    assert fit and "EPSG:4490" in fit[0].detail and "metres" in fit[0].detail
    layers = load_layerset(cat)
    assert layers.info["red_line"].status == "failed"
    assert layers.info["red_line"].detail == fit[0].detail  # one validation, one message
    results = {r.site_id: r for r in screen(sample_sites, layers=layers)}
    for sid, r in results.items():
        assert red_record(r).status == "failed"
        if baseline[sid].verdict in ("prohibited",) and any(x.id == "RL-01" and x.outcome == "prohibited"
                                                            for x in baseline[sid].rules):
            assert r.verdict in ("prohibited", "needs_info")
            assert {x.id: x.outcome for x in r.rules}["RL-01"] == "needs_info"
        assert r.verdict != "compliant"  # the red line could not be checked anywhere


def test_wrong_gk_zone_label_fails_the_layer(tmp_path, catalog, red_line):
    """A layer in zone 39 metres labelled as zone 40 lands ~300 km east, outside the layer set's area."""
    wrong = red_line.to_crs(4548).set_crs(4549, allow_override=True)
    cat = make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, wrong, "zone")})
    layers = load_layerset(cat)
    assert layers.info["red_line"].status == "failed"
    assert "EPSG:4549" in layers.info["red_line"].detail


def test_truncated_raster_is_failed_in_the_layer_table(tmp_path, catalog, sample_sites):
    """Issue example: a corrupt forest_carbon raster was "ok" in the layer table while the carbon
    section said it failed."""
    src = catalog.one("forest_carbon").path
    cut = tmp_path / "truncated.tif"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    cat = make_catalog(tmp_path, catalog, {"forest_carbon": cut})
    layers = load_layerset(cat)
    assert layers.info["forest_carbon"].status == "failed"
    results = screen(sample_sites.iloc[:3], layers=layers)
    for r in results:
        rec = next(lr for lr in r.layers if lr.role == "forest_carbon")
        assert rec.status == "failed"
        if r.carbon is not None and r.site.geom_type and r.site.geom_type.endswith("Polygon"):
            assert r.carbon["status"] == "failed"
    assert failing(cat, "forest_carbon")


def test_corrupt_block_found_when_the_header_survives(tmp_path, catalog, sample_sites):
    """A raster whose last block is garbage (header intact): failed at load, and failed in every
    result's layer table (never "ok" next to a failed carbon section)."""
    import rasterio

    src = catalog.one("forest_carbon").path
    bad = tmp_path / "garbled.tif"
    bad.write_bytes(src.read_bytes())
    with rasterio.open(bad) as ds:
        last = list(ds.block_windows(1))[-1][1]
        offset = int(ds.get_tag_item(f"BLOCK_OFFSET_{last.col_off // 256}_{last.row_off // 256}", "TIFF", bidx=1))
    blob = bytearray(bad.read_bytes())
    blob[offset: offset + 64] = b"\xff" * 64
    bad.write_bytes(bytes(blob))
    layers = load_layerset(make_catalog(tmp_path, catalog, {"forest_carbon": bad}))
    assert layers.info["forest_carbon"].status == "failed"
    r = screen(sample_sites.iloc[:1], layers=layers)[0]
    assert next(lr for lr in r.layers if lr.role == "forest_carbon").status == "failed"


def test_carbon_failure_at_screening_marks_the_raster_record(catalog, sample_sites, monkeypatch):
    """The layer table and the carbon section agree even when the raster fails only while reading."""
    from zoning.carbon import density
    from zoning.errors import CarbonError

    def boom(*args, **kwargs):
        raise CarbonError("坏块", "corrupt block while reading")

    monkeypatch.setattr(density, "_run_strip", boom)  # the window reads of every carbon measurement
    r = screen(sample_sites.iloc[:1], layers=load_layerset(catalog))[0]
    assert r.carbon["status"] == "failed"
    rec = next(lr for lr in r.layers if lr.role == "forest_carbon")
    assert rec.status == "failed" and "corrupt block" in rec.detail


def test_statuses_are_in_vocabulary_and_schema():
    schema = json.loads(resources.files("zoning.schema").joinpath("result.schema.json").read_text())
    enum = set(schema["$defs"]["layer"]["properties"]["status"]["enum"])
    assert {"partial", "failed", "partly_outside", "outside"} <= enum
    assert set(LAYER_STATUS_ZH) == enum
    assert "bad_ids" in schema["$defs"]["layer"]["properties"]


def test_sample_layers_are_clean(catalog):
    layers = load_layerset(catalog)
    assert all(i.integrity == "ok" for i in layers.info.values()), {r: i.detail for r, i in layers.info.items()}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sets(st.integers(min_value=0, max_value=62), min_size=1, max_size=8),
       st.sampled_from(["null", "bowtie", "far"]))
def test_any_broken_subset_never_silently_passes(tmp_path_factory, catalog, red_line, sample_sites, baseline,
                                                 broken_rows, how):
    """Break a random set of red-line features: the layer lists exactly those ids, and every sample
    site that touched one of them (shapely truth) gets RL-01/RL-02 needs_info, never a pass."""
    tmp = tmp_path_factory.mktemp("broken")
    broken = red_line.copy()
    rows = sorted(r for r in broken_rows if r < len(broken))
    for r in rows:
        x, y = broken.geometry.iloc[r].representative_point().coords[0]
        broken.loc[r, "geometry"] = {"null": None,
                                     "bowtie": shapely.Polygon([(x, y), (x + .01, y + .01), (x + .01, y), (x, y + .01)]),
                                     "far": shapely.box(x + 20, y + 20, x + 20.01, y + 20.01)}[how]
    ids = [str(i) for i in broken[RL_ID].iloc[rows]]
    layers = load_layerset(make_catalog(tmp, catalog, {"red_line": write_red_line(tmp, broken, how)}))
    assert layers.info["red_line"].bad_ids == ids
    results = {r.site_id: r for r in screen(sample_sites, layers=layers)}
    for sid, r in results.items():
        rec = red_record(r)
        assert rec.status == "partial" and rec.bad_ids == ids
        hit_bad = set(touched(sample_sites, red_line, sid)) & set(ids)
        hit_good = set(touched(sample_sites, red_line, sid)) - set(ids)
        outcomes = {x.id: x.outcome for x in r.rules}
        if hit_bad and not hit_good:
            assert "needs_info" in (outcomes.get("RL-01"), outcomes.get("RL-02")), (sid, outcomes)
            assert r.verdict not in ("compliant",)
        if hit_good:  # a usable feature still decides: the same red-line outcome as before
            before = {x.id: x.outcome for x in baseline[sid].rules}
            assert outcomes.get("RL-01") == before.get("RL-01") and outcomes.get("RL-02") == before.get("RL-02")


def test_a_feature_beyond_the_city_but_in_range_stays_usable(tmp_path, catalog, red_line):
    """A layer may reach beyond the layer set's area (a provincial red-line layer in a city
    catalog): a feature 3° west, still in China, is neither unusable nor a CRS misfit."""
    moved = red_line.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry.iloc[0], xoff=-3.0)
    layers = load_layerset(make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, moved, "west")}))
    assert layers.info["red_line"].integrity == "ok"
    assert len(layers.frames["red_line"]) == len(red_line)


def test_layers_check_uses_the_one_validation(tmp_path, catalog, red_line):
    """`layers check` (check_catalog) reports exactly the per-layer findings of the validation that
    load_layerset uses, plus the partition check; and the CLI exits 1 naming the feature."""
    from click.testing import CliRunner

    from zoning.cli import main

    broken = red_line.copy()
    target = str(broken[RL_ID].iloc[5])
    broken.loc[5, "geometry"] = None
    cat = make_catalog(tmp_path, catalog, {"red_line": write_red_line(tmp_path, broken, "one")})
    per_layer = [f for c in validate_catalog(cat.layers) for f in c.findings]
    checked = check_catalog(cat)
    assert checked[: len(per_layer)] == per_layer and {f.check for f in checked[len(per_layer):]} == {"partition"}
    assert load_layerset(cat).info["red_line"].bad_ids == [target]
    res = CliRunner().invoke(main, ["layers", "check", "--catalog", str(cat.path)])
    assert res.exit_code == 1 and target in res.output
