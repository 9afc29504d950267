"""Renderers: read result objects, never recompute them."""
