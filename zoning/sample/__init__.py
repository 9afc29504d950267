"""Deterministic Nanping sample layer set (synthetic but plausible; real county boundaries)."""
from zoning.sample.build import SEED, build_sample

__all__ = ["SEED", "build_sample"]
