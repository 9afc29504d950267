"""``zoning serve``: the review office's screening service (an ASGI app over the public API).

    from zoning.service import create_app, Settings
    app = create_app(Settings(catalog="layers/catalog.yaml", db="sqlite:///history.sqlite"))

See :mod:`zoning.service.app` for the endpoints and README "Service" for curl examples.
"""
from zoning.service.app import create_app, serve
from zoning.service.settings import Limits, Settings

__all__ = ["Limits", "Settings", "create_app", "serve"]
