"""Deterministic Nanping sample layer set (synthetic but plausible; real county boundaries)."""
from .build import SEED, build_sample

__all__ = ["SEED", "build_sample"]
