"""The CLI as a user meets it: exit codes, one-line errors, JSON contracts."""
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from zoning.cli import main

SITE_KEYS = {"id", "geom_type", "crs_in", "lon", "lat", "area_m2", "county", "warnings", "attributes", "error"}  # attributes: issue 12; error: issue 15


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_layers_list_json(catalog):
    res = run("layers", "list", "--json", "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    records = json.loads(res.output)
    assert {"role", "name", "path", "kind", "synthetic"} <= set(records[0])
    assert records[0]["role"] == "admin" and records[0]["synthetic"] is False
    assert any(r["kind"] == "raster" for r in records)


def test_layers_check_exit_codes(catalog, tmp_path):
    res = run("layers", "check", "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    assert "all" in res.output and "checks passed" in res.output
    # a catalog pointing at a missing file: findings, exit 1
    bad = tmp_path / "c.yaml"
    bad.write_text(f"layers:\n  - role: admin\n    path: {tmp_path / 'missing.gpkg'}\n", encoding="utf-8")
    res = run("layers", "check", "--catalog", bad)
    assert res.exit_code == 1
    assert "FAIL" in res.output


def test_sites_json_contract(catalog, data):
    res = run("sites", data / "sites.geojson", "--json", "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 3 and set(rows[0]) == SITE_KEYS
    assert rows[0]["county"] == "延平区" and rows[0]["area_m2"] > 40000


def test_sites_literal_table(catalog):
    res = run("sites", "118.17,26.64", "--catalog", catalog.path)
    assert res.exit_code == 0
    assert "延平区" in res.output


@pytest.mark.parametrize("args,needle", [
    (["sites", "26.64,118.17"], "swapped"),
    (["sites", "tests/data/jzd_nozone.csv"], "--crs 4548"),
    (["sites", "nope.geojson"], "not found"),
    (["sites", "118.17,26.64", "--crs", "bogus"], "unrecognised CRS"),
    (["layers", "list", "--catalog", "missing.yaml"], "catalog not found"),
])
def test_user_errors_are_one_line_exit_2(args, needle):
    # a real subprocess: what a user sees on the terminal, no traceback
    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "zoning.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("错误：") and "| Error:" in lines[0]
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["sites"], ["screen", "118.17,26.64", "--bogus"], ["nosuchcommand"],
                                  ["screen", "118.17,26.64", "--lang", "fr"], ["carbon", "program", "-o", "x", "--horizon", "abc"]])
def test_usage_errors_exit_64_not_like_data_errors(args):
    """A wrong command line (click) is told apart from bad data (exit 2): EX_USAGE, 64."""
    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "zoning", *args], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 64, proc.stderr
    assert "Traceback" not in proc.stderr and "Usage:" in proc.stderr
