"""All vector layers of a catalog, loaded once, with per-zone projected copies and indexes."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from zoning.io.catalog import Catalog, load_layer
from zoning.vocabulary import ROLES
from zoning.errors import ZoningError

#: canonical fields kept per role for hits, filters and reports
KEEP_FIELDS = ("id", "code", "name", "name_en", "class", "kind", "grade", "type", "level", "chemical", "industries",
               "county_code", "program")


@dataclass
class LayerInfo:
    role: str
    name: str
    vintage: str
    synthetic: bool
    status: str  # ok | empty | failed
    detail: str = ""


@dataclass
class LayerSet:
    """Loaded vector layers by role (EPSG:4490), their load status, and the coverage area."""

    catalog: Catalog
    frames: dict[str, gpd.GeoDataFrame]
    info: dict[str, LayerInfo]
    coverage: object | None  # union of admin polygons (EPSG:4490), or None
    _proj: dict = field(default_factory=dict, repr=False)

    def projected(self, role: str, epsg: int, where: tuple = ()):
        """(frame, STRtree) of ``role`` in ``epsg``, optionally filtered.

        ``where`` is a tuple of ``(field, (value, ...))`` pairs, e.g.
        ``(("kind", ("饮用水水源保护区",)),)``; values compare as strings.
        """
        key = (role, epsg, where)
        if key not in self._proj:
            frame = self.frames[role]
            for fld, values in where:
                frame = frame[frame[fld].astype(str).isin([str(v) for v in values])]
            proj = frame.to_crs(epsg).reset_index(drop=True)
            proj["geometry"] = shapely.make_valid(proj.geometry.values)
            shapely.prepare(proj.geometry.values)  # fast contains/intersects against many sites
            self._proj[key] = (proj, shapely.STRtree(proj.geometry.values))
        return self._proj[key]

    def simplified(self, role: str, epsg: int, where: tuple = (), tolerance: float = 25.0):
        """(simplified geometries, STRtree) of ``role`` in ``epsg``: for picking nearest candidates.

        Douglas-Peucker moves no point of the outline by more than ``tolerance`` (m), so a
        distance to the simplified shape is within ``tolerance`` of the exact one.
        """
        key = ("__simple__", role, epsg, where, tolerance)
        if key not in self._proj:
            frame, _ = self.projected(role, epsg, where)
            simple = shapely.simplify(frame.geometry.values, tolerance, preserve_topology=False)
            self._proj[key] = (simple, shapely.STRtree(simple))
        return self._proj[key]

    def admin_index(self):
        """The admin layer prepared for :func:`zoning.geo.locate.locate_sites`, built once; None without it."""
        if "__admin_index__" not in self._proj:
            from zoning.geo.locate import admin_index

            ok = "admin" in self.frames and self.info["admin"].status == "ok"
            self._proj["__admin_index__"] = admin_index(self.frames["admin"]) if ok else None
        return self._proj["__admin_index__"]

    def coverage_in(self, epsg: int):
        key = ("__coverage__", epsg)
        if key not in self._proj:
            cov = None
            if self.coverage is not None:
                cov = gpd.GeoSeries([self.coverage], crs=4490).to_crs(epsg).iloc[0]
                shapely.prepare(cov)
            self._proj[key] = cov
        return self._proj[key]

    @property
    def synthetic(self) -> bool:
        return any(i.synthetic for i in self.info.values())


def load_layerset(catalog: Catalog, *, engine: str = "pyogrio") -> LayerSet:
    """Load every vector layer; a layer that fails is recorded as failed, never as empty."""
    frames: dict[str, gpd.GeoDataFrame] = {}
    info: dict[str, LayerInfo] = {}
    for spec in catalog.layers:
        if spec.kind != "vector":
            continue
        try:
            gdf = load_layer(spec, engine=engine)
        except ZoningError as exc:
            info.setdefault(spec.role, LayerInfo(spec.role, spec.name, spec.vintage, spec.synthetic, "failed", exc.en))
            info[spec.role].status = "failed"
            info[spec.role].detail = exc.en
            continue
        keep = [c for c in KEEP_FIELDS if c in gdf.columns]
        gdf = gdf[keep + ["geometry"]].copy()
        gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if "id" not in gdf.columns:
            gdf["id"] = gdf["code"] if "code" in gdf.columns else [f"{spec.role}-{i}" for i in range(len(gdf))]
        gdf["layer"] = spec.name
        if spec.role in frames:
            frames[spec.role] = pd.concat([frames[spec.role], gdf], ignore_index=True)
        else:
            frames[spec.role] = gdf.reset_index(drop=True)
        prev = info.get(spec.role)
        status = "ok" if len(frames[spec.role]) else "empty"
        if prev is not None and prev.status == "failed":
            status = "failed"
        info[spec.role] = LayerInfo(spec.role, spec.name if prev is None else f"{prev.name}; {spec.name}",
                                    spec.vintage, spec.synthetic or (prev.synthetic if prev else False), status,
                                    prev.detail if prev and prev.status == "failed" else f"{len(gdf)} features")
    for role, (_, kind, _, _) in ROLES.items():
        if kind == "vector" and role not in info and role != "program":
            info[role] = LayerInfo(role, ROLES[role][0], "", False, "failed", "no layer of this role in the catalog")
    coverage = None
    if "admin" in frames and info["admin"].status == "ok":
        coverage = shapely.union_all(frames["admin"].geometry.values)
    return LayerSet(catalog=catalog, frames=frames, info=info, coverage=coverage)
