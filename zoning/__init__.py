"""zoning: 三线一单 / 生态环境分区管控 screening, forest carbon and exports for Nanping.

The public API mirrors the CLI: ``read_sites``, ``screen``, ``load_catalog``, ``load_layer``.
"""
__version__ = "0.1.0"

from zoning.io.catalog import Catalog, LayerSpec, load_catalog, load_layer  # noqa: E402
from zoning.errors import ZoningError  # noqa: E402
from zoning.io.sites import read_sites  # noqa: E402


def screen(*args, **kwargs):
    """Screen sites; see :func:`zoning.screening.pipeline.screen` (imported lazily to keep startup fast)."""
    from zoning.screening.pipeline import screen as _screen

    return _screen(*args, **kwargs)


__all__ = ["Catalog", "LayerSpec", "ZoningError", "load_catalog", "load_layer", "read_sites", "screen",
           "__version__"]
