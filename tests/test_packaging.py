"""Packaging matches the code: pyproject's dependencies cover every import, environment.yml lists
the same set, and the extras are real options.

No layers and no network needed; reads pyproject.toml, environment.yml and the sources only.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zoning"

# Import name -> distribution (PyPI) name, where they differ. Anything else is assumed to be
# installed under its own name (underscores as dashes).
IMPORT_TO_DIST = {
    "docx": "python-docx",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "js_lib_leaflet": "django-js-lib-leaflet",
    "dask_geopandas": "dask-geopandas",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "osgeo": "gdal",
    "importlinter": "import-linter",
    "playwright": "playwright",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
}

# Libraries the code needs without importing them by name: pandas/geopandas load them from an
# `engine=` keyword, or when a method is called.
ENGINE_TO_DIST = {"openpyxl": "openpyxl", "xlsxwriter": "xlsxwriter", "odf": "odfpy", "calamine": "python-calamine",
                  "pyarrow": "pyarrow", "fastparquet": "fastparquet", "fiona": "fiona", "pyogrio": "pyogrio"}
METHOD_TO_DIST = {"read_excel": "openpyxl", "to_excel": "openpyxl", "ExcelWriter": "openpyxl",
                  "read_parquet": "pyarrow", "to_parquet": "pyarrow", "read_feather": "pyarrow", "to_feather": "pyarrow"}
DYNAMIC_IMPORTERS = {"find_spec", "import_module", "__import__", "importorskip"}

# PyPI name -> conda-forge name, where they differ.
PYPI_TO_CONDA = {"matplotlib": "matplotlib-base"}
# In environment.yml only, with the reason.
CONDA_ONLY = {
    "python": "the interpreter (requires-python)",
    "pip": "needed for the pip: section",
    "gdal": "GDAL's command-line tools (ogrinfo), used by the export/IO tests when present",
}
# Core dependencies that no module under zoning/ uses yet, with the reason. Keep it short.
DECLARED_AHEAD: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(reqs, extras: dict[str, list[str]], seen=frozenset()) -> dict[str, Requirement]:
    """Canonical name -> requirement, following self-references such as ``zoning[dask]``."""
    out: dict[str, Requirement] = {}
    for text in reqs:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == "zoning":
            for extra in sorted(req.extras - seen):
                assert extra in extras, f"{text!r} names an extra that pyproject.toml does not define"
                out.update(_names(extras[extra], extras, seen | {extra}))
        else:
            out[name] = req
    return out


def core() -> dict[str, Requirement]:
    proj = _pyproject()["project"]
    return _names(proj["dependencies"], proj.get("optional-dependencies", {}))


def extra(name: str) -> dict[str, Requirement]:
    extras = _pyproject()["project"].get("optional-dependencies", {})
    return _names(extras[name], extras, frozenset({name}))


def _lower_bound(spec: str) -> str | None:
    m = re.search(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
    return m.group(1) if m else None


def _environment() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(conda name -> spec, PyPI name from the pip: section -> spec, extras named in the header)."""
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    header = re.search(r"^#\s*pyproject-extras:\s*(.*)$", text, re.M)
    assert header, "environment.yml must say which pyproject extras it includes: '# pyproject-extras: test'"
    extras = [e for e in re.split(r"[\s,]+", header.group(1).strip()) if e]
    conda: dict[str, str] = {}
    pip: dict[str, str] = {}
    for item in yaml.safe_load(text)["dependencies"]:
        if isinstance(item, dict):
            for line in item.get("pip", []):
                req = Requirement(line)
                pip[canonicalize_name(req.name)] = str(req.specifier)
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", str(item))
        conda[m.group(1).lower()] = m.group(2).strip()
    return conda, pip, extras


# ---------------------------------------------------------------------------------------------
def test_environment_yml_matches_pyproject():
    conda, pip, extras = _environment()
    wanted = dict(core())
    for e in extras:
        wanted.update(extra(e))
    errors = []
    listed: set[str] = set()
    for name, req in sorted(wanted.items()):
        where, spec = None, None
        if name in pip:
            where, spec = "pip:", pip[name]
        elif PYPI_TO_CONDA.get(name, name) in conda:
            where, spec = PYPI_TO_CONDA.get(name, name), conda[PYPI_TO_CONDA.get(name, name)]
        if where is None:
            errors.append(f"{name}: in pyproject.toml, missing from environment.yml"
                          + (f" (conda-forge name {PYPI_TO_CONDA[name]})" if name in PYPI_TO_CONDA else ""))
            continue
        listed.add(where if where != "pip:" else f"pip:{name}")
        ours, theirs = _lower_bound(str(req.specifier)), _lower_bound(spec)
        if ours != theirs:
            errors.append(f"{name}: lower bound {ours} in pyproject.toml but {theirs} in environment.yml ({where})")
    conda_to_pypi = {v: k for k, v in PYPI_TO_CONDA.items()}
    for name in sorted(conda):
        if name not in listed and name not in CONDA_ONLY:
            errors.append(f"{name}: in environment.yml, not in pyproject.toml core + {extras}"
                          f" (PyPI name {conda_to_pypi.get(name, name)}; add it there, to PYPI_TO_CONDA or CONDA_ONLY)")
    for name in sorted(pip):
        if f"pip:{name}" not in listed:
            errors.append(f"{name}: in environment.yml's pip: section, not in pyproject.toml core + {extras}")
    python = _pyproject()["project"]["requires-python"]
    if _lower_bound(python) != _lower_bound(conda.get("python", "")):
        errors.append(f"python: requires-python {python} but environment.yml has python{conda.get('python', '')}")
    assert not errors, "environment.yml and pyproject.toml disagree:\n  " + "\n  ".join(errors)


def test_extras_are_real_options():
    """No extra repeats a core dependency (a 'report' extra of core packages hides a broken core)."""
    base = set(core())
    extras = _pyproject()["project"]["optional-dependencies"]
    assert {"dask", "bench", "test", "all"} <= set(extras)
    repeated = {e: sorted(set(extra(e)) & base) for e in extras}
    assert not any(repeated.values()), f"extras repeating core dependencies: { {k: v for k, v in repeated.items() if v} }"
    assert set(extra("all")) == set(extra("dask")) | set(extra("bench")) | set(extra("test"))
    for e in extras:
        assert extra(e), f"extra {e!r} is empty"


# ---------------------------------------------------------------------------------------------
def _dist(import_name: str) -> str:
    return canonicalize_name(IMPORT_TO_DIST.get(import_name, import_name))


def third_party_uses(path: Path, first_party: set[str]) -> list[tuple[int, str, str]]:
    """(line, what, distribution) for every third-party library a module imports or needs.

    Top-level and function-level imports alike; plus find_spec("x")/import_module("x"), pandas'
    engine="openpyxl" keywords and read_excel-style calls (which import their engine inside pandas).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, str]] = []

    def add(node, module: str, what: str):
        top = module.split(".")[0]
        if top and top not in sys.stdlib_module_names and top not in first_party:
            found.append((node.lineno, what, _dist(top)))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            add(node, node.module, f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if fname in DYNAMIC_IMPORTERS and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                add(node, node.args[0].value, f"{fname}({node.args[0].value!r})")
            if fname in METHOD_TO_DIST:
                found.append((node.lineno, f"{fname}(...)", canonicalize_name(METHOD_TO_DIST[fname])))
            for kw in node.keywords:
                if kw.arg == "engine" and isinstance(kw.value, ast.Constant) and kw.value.value in ENGINE_TO_DIST:
                    found.append((node.lineno, f"engine={kw.value.value!r}",
                                  canonicalize_name(ENGINE_TO_DIST[kw.value.value])))
    return found


def _modules(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_package_imports_are_declared():
    """Every third-party import under zoning/ is a core dependency (zoning/engines/: or the dask extra)."""
    base, dask = set(core()), set(extra("dask"))
    errors = []
    for path in _modules(PACKAGE):
        rel = path.relative_to(ROOT)
        allowed = base | dask if rel.parts[:2] == ("zoning", "engines") else base
        for line, what, dist in third_party_uses(path, {"zoning"}):
            if dist not in allowed:
                errors.append(f"{rel}:{line}: {what} needs {dist}, not in "
                              + ("core or the dask extra" if allowed is not base else "core dependencies"))
    assert not errors, ("imports not covered by pyproject.toml (add the dependency, or map the import name "
                        "in IMPORT_TO_DIST):\n  " + "\n  ".join(errors))


def test_declared_dependencies_are_used():
    """Every core dependency is used under zoning/, every dask-extra one under zoning/engines/."""
    used_anywhere, used_engines = set(), set()
    for path in _modules(PACKAGE):
        dists = {d for _, _, d in third_party_uses(path, {"zoning"})}
        used_anywhere |= dists
        if path.relative_to(PACKAGE).parts[0] == "engines":
            used_engines |= dists
    unused_core = sorted(set(core()) - used_anywhere - set(DECLARED_AHEAD))
    unused_dask = sorted(set(extra("dask")) - used_engines)
    assert not unused_core, f"core dependencies nothing under zoning/ uses: {unused_core} (drop them, or move to an extra)"
    assert not unused_dask, f"dask-extra dependencies zoning/engines/ does not use: {unused_dask}"


@pytest.mark.parametrize("folder, extras", [("tests", ("test", "dask")), ("benchmarks", ("bench",))])
def test_tests_and_benchmarks_imports_are_declared(folder, extras):
    """tests/ need core + test (+ dask, skipped without it); benchmarks/ need core + bench."""
    allowed = set(core())
    for e in extras:
        allowed |= set(extra(e))
    root = ROOT / folder
    local = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if p.is_dir()}
    errors = [f"{path.relative_to(ROOT)}:{line}: {what} needs {dist}"
              for path in _modules(root)
              for line, what, dist in third_party_uses(path, {"zoning"} | local)
              if dist not in allowed]
    assert not errors, f"not covered by core + {list(extras)}:\n  " + "\n  ".join(errors)


def test_import_scan_sees_function_level_and_dynamic_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import os\nfrom zoning.io import x\ndef f():\n    from docx import Document\n"
                   "    import importlib.util\n    importlib.util.find_spec('js_lib_leaflet')\n"
                   "    df.to_excel('a.xlsx')\n    from PIL import Image\n", encoding="utf-8")
    assert {d for _, _, d in third_party_uses(src, {"zoning"})} == {
        "python-docx", "django-js-lib-leaflet", "openpyxl", "pillow"}
