from pathlib import Path

import pytest

from zoning.io.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
CATALOG = ROOT / "layers" / "catalog.yaml"


@pytest.fixture(scope="session")
def catalog():
    """The bundled sample catalog, building the synthetic layers when missing."""
    cat = load_catalog(CATALOG)
    if cat.missing_files():
        from zoning.sample import build_sample

        build_sample(cat.one("red_line").path.parent, admin_path=cat.one("admin").path)
    return cat


@pytest.fixture(scope="session")
def admin(catalog):
    from zoning.io.catalog import load_layer

    return load_layer(catalog.one("admin"))


@pytest.fixture
def data():
    return DATA


# one throw-away PostgreSQL for every test that needs it (tests/test_service_support.py)
from test_service_support import postgres_server  # noqa: E402,F401
