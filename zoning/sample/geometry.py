"""Shape helpers for the synthetic layers (all in the city's equal-area CRS, metres)."""
from __future__ import annotations

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry import Point, Polygon


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise (zero mean, unit std) with correlation length ``sigma_px``."""
    white = rng.standard_normal(shape)
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    filt = np.exp(-2.0 * (np.pi * sigma_px) ** 2 * (kx ** 2 + ky ** 2))
    field = np.fft.irfft2(np.fft.rfft2(white) * filt, s=shape)
    return (field - field.mean()) / field.std()


def gaussian_bump(shape, transform: Affine, x: float, y: float, radius: float) -> np.ndarray:
    """exp(-d²/2r²) on a grid; ``x``, ``y``, ``radius`` in CRS units."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    xs = transform.c + (cols + 0.5) * transform.a
    ys = transform.f + (rows + 0.5) * transform.e
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * radius ** 2))


def blob(rng: np.random.Generator, x: float, y: float, radius: float, *, wobble: float = 0.22,
         aspect: float = 1.0, angle_deg: float = 0.0, n: int = 96) -> Polygon:
    """An irregular closed shape around (x, y): a wobbly ellipse with low harmonics."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.3, 1.0) * wobble / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    px = radius * r * np.cos(theta) * aspect
    py = radius * r * np.sin(theta)
    a = np.deg2rad(angle_deg)
    xs = x + px * np.cos(a) - py * np.sin(a)
    ys = y + px * np.sin(a) + py * np.cos(a)
    return shapely.make_valid(Polygon(np.column_stack([xs, ys])))


def polygonize(mask: np.ndarray, transform: Affine, *, smooth_m: float, simplify_m: float):
    """Polygons of a boolean mask, corners rounded by a buffer in/out and lightly simplified."""
    shapes = [shapely.geometry.shape(geom) for geom, val in
              rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform) if val]
    merged = shapely.union_all(shapes)
    rounded = merged.buffer(smooth_m, quad_segs=4).buffer(-smooth_m, quad_segs=4)
    return shapely.make_valid(rounded.simplify(simplify_m))


def interior_point(region, rng: np.random.Generator, margin_m: float, tries: int = 5000) -> Point:
    """A random point at least ``margin_m`` inside ``region`` (deterministic with ``rng``)."""
    inner = region.buffer(-margin_m) if margin_m > 0 else region
    if inner.is_empty:
        raise ValueError("region too small for the requested margin")
    minx, miny, maxx, maxy = inner.bounds
    prepared = shapely.prepared.prep(inner)
    for _ in range(tries):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if prepared.contains(p):
            return p
    return inner.representative_point()


def footprint(center: Point, area_ha: float, rng: np.random.Generator) -> Polygon:
    """A rotated rectangle of ``area_ha`` hectares centred on ``center`` (equal-area CRS)."""
    ratio = rng.uniform(1.0, 2.0)
    h = np.sqrt(area_ha * 1e4 / ratio)
    w = h * ratio
    rect = shapely.box(center.x - w / 2, center.y - h / 2, center.x + w / 2, center.y + h / 2)
    return shapely.affinity.rotate(rect, rng.uniform(0, 180), origin=center)


def rectangles(cx: np.ndarray, cy: np.ndarray, area: np.ndarray, ratio: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Vectorised rotated rectangles: centres, areas (CRS units²), side ratios, angles (radians)."""
    h = np.sqrt(area / ratio)
    w = h * ratio
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    dx, dy = corners[:, 0] * w[:, None], corners[:, 1] * h[:, None]
    xs = cx[:, None] + dx * cos - dy * sin
    ys = cy[:, None] + dx * sin + dy * cos
    return shapely.polygons(np.stack([xs, ys], axis=-1))
