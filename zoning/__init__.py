"""zoning: 三线一单 / 生态环境分区管控 screening, forest carbon and exports for Nanping.

The public API mirrors the CLI: ``read_sites``, ``screen``, ``load_catalog``, ``load_layer``.
"""
__version__ = "0.1.0"

from .catalog import Catalog, LayerSpec, load_catalog, load_layer  # noqa: E402
from .errors import ZoningError  # noqa: E402
from .sites import read_sites  # noqa: E402


def screen(*args, **kwargs):
    """Screen sites; see :func:`zoning.screen.screen` (imported lazily to keep startup fast)."""
    from .screen import screen as _screen

    return _screen(*args, **kwargs)


__all__ = ["Catalog", "LayerSpec", "ZoningError", "load_catalog", "load_layer", "read_sites", "screen",
           "__version__"]
