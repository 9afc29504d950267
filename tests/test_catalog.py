import json
from pathlib import Path

import pytest
import yaml

from zoning.io.catalog import load_catalog, load_layer
from zoning.errors import CatalogError, InputFileNotFound, LayerError


def _write(tmp_path, doc) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_sample_catalog_roles(catalog):
    roles = [s.role for s in catalog.layers]
    assert roles == ["admin", "red_line", "control_unit", "park", "protected", "no_burn", "forest_carbon",
                     "registered_carbon"]
    assert all(s.path.is_absolute() for s in catalog.layers)
    assert [s.synthetic for s in catalog.layers] == [False] + [True] * 7


def test_field_mapping_renames_to_canonical(catalog):
    units = load_layer(catalog.one("control_unit"))
    assert {"code", "name", "class", "county_code"} <= set(units.columns)
    assert "单元编码" not in units.columns


def test_missing_catalog(tmp_path):
    with pytest.raises(InputFileNotFound, match="catalog"):
        load_catalog(tmp_path / "nope.yaml")


@pytest.mark.parametrize("doc,match", [
    ({"layers": [{"role": "bogus", "path": "x.gpkg"}]}, "unknown role"),
    ({"layers": [{"role": "admin"}]}, "missing 'path'"),
    ({"layers": [{"role": "admin", "path": "x.gpkg", "colour": "red"}]}, "unknown keys"),
    ({"layers": [{"role": "admin", "path": "a.gpkg"}, {"role": "admin", "path": "b.gpkg"}]}, "duplicate layer name"),
    ({"layers": [{"role": "admin", "path": "postgresql://db/x"}]}, "PostGIS"),
    ({"nolayers": 1}, "layers"),
])
def test_bad_catalogs(tmp_path, doc, match):
    with pytest.raises(CatalogError, match=match):
        load_catalog(_write(tmp_path, doc))


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("layers:\n  - role: admin\n    path: [unclosed\n")
    with pytest.raises(CatalogError, match="line"):
        load_catalog(path)


def test_missing_canonical_field_is_explained(tmp_path, catalog):
    doc = {"layers": [{"role": "control_unit", "path": str(catalog.one("control_unit").path),
                       "layer": "control_unit", "fields": {"单元编码": "code"}}]}
    cat = load_catalog(_write(tmp_path, doc))
    with pytest.raises(LayerError, match="lacks canonical fields.*class"):
        load_layer(cat.layers[0])


def test_layer_without_crs_needs_declaration(tmp_path, data):
    src = data / "sites_noprj.shp"
    doc = {"layers": [{"role": "no_burn", "path": str(src), "fields": {"name": "name", "id": "id"}}]}
    cat = load_catalog(_write(tmp_path, doc))
    with pytest.raises(LayerError, match="no CRS"):
        load_layer(cat.layers[0])
    doc["layers"][0]["crs"] = "EPSG:4548"
    gdf = load_layer(load_catalog(_write(tmp_path, doc)).layers[0])
    assert gdf.crs.to_epsg() == 4490
    assert gdf.total_bounds[0] == pytest.approx(118.170, abs=1e-6)


def test_layers_check_fails_without_units_and_names_every_missing_role(tmp_path, catalog):
    """An import that lost its control units (or a hand-written catalog without them) never passes
    `layers check`: the core roles fail, every other missing role is listed as a note."""
    from zoning.api import check_layers

    doc = yaml.safe_load(catalog.path.read_text(encoding="utf-8"))
    doc["rules"] = str((catalog.path.parent / doc["rules"]).resolve())
    doc.pop("clauses", None)
    doc["layers"] = [dict(e, path=str((catalog.path.parent / e["path"]).resolve())) for e in doc["layers"]
                     if e["role"] in ("red_line",)]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    present = {f.role: f.ok for f in check_layers(path) if f.check == "present"}
    assert present == {"admin": False, "control_unit": False, "park": True, "protected": True, "no_burn": True}
    assert all(f.check != "present" for f in check_layers(catalog.path))
