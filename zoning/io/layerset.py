"""All vector layers of a catalog, loaded once, with per-zone projected copies and indexes."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.geo.crs import STORAGE_EPSG, project
from zoning.io.catalog import COVERAGE_DEFAULT, COVERAGE_SELF, Catalog
from zoning.io.validate import LayerCheck, bad_detail, validate_catalog
from zoning.vocabulary import OPTIONAL_ROLES, ROLES

#: canonical fields kept per role for hits, filters and reports
KEEP_FIELDS = ("id", "code", "name", "name_en", "class", "kind", "grade", "type", "level", "chemical", "industries",
               "county_code", "program", "basin", "reach")

#: the detail of a role the catalog has no layer for (screened as a failed layer: its rules are needs_info)
NO_LAYER_DETAIL = "no layer of this role in the catalog"


@dataclass
class LayerInfo:
    role: str
    name: str
    vintage: str
    synthetic: bool
    status: str  # ok | empty | failed  (usable at all; "ok" may still have unusable features: see bad)
    detail: str = ""
    #: problem -> ids of features that could not be used (null, invalid, out-of-range geometry ...)
    bad: dict = field(default_factory=dict)
    #: the coverage key of the role: "admin", "self" or another role/layer name (see LayerSet.coverages)
    coverage: str = COVERAGE_DEFAULT
    kind: str = "vector"

    @property
    def bad_ids(self) -> list[str]:
        return list(dict.fromkeys(i for ids in self.bad.values() for i in ids))

    @property
    def integrity(self) -> str:
        """ok | empty | partial | failed: ``partial`` when some features were unusable."""
        return "partial" if self.status == "ok" and self.bad else self.status


@dataclass
class LayerSet:
    """Loaded vector layers by role (EPSG:4490), their load status, and the coverage area."""

    catalog: Catalog
    frames: dict[str, gpd.GeoDataFrame]
    info: dict[str, LayerInfo]
    coverage: object | None  # union of admin polygons (EPSG:4490), or None
    _proj: dict = field(default_factory=dict, repr=False)
    #: coverage key -> the area (EPSG:4490) the layers with that key are complete for; None = unknown
    coverages: dict = field(default_factory=dict)

    def projected(self, role: str, epsg: int, where: tuple = ()):
        """(frame, STRtree) of ``role`` in ``epsg``, optionally filtered.

        ``where`` is a tuple of ``(field, (value, ...))`` pairs, e.g.
        ``(("kind", ("饮用水水源保护区",)),)``; values compare as strings.
        Geometries are densified in lon/lat before they are projected (:func:`zoning.geo.crs.project`),
        so a straight stored edge stays within millimetres of where it is, not metres.
        """
        key = (role, epsg, where)
        if key not in self._proj:
            frame = self.frames[role][self.matching(role, where)].reset_index(drop=True)
            proj = gpd.GeoDataFrame(frame.drop(columns="geometry"),
                                    geometry=shapely.make_valid(project(frame.geometry.values, epsg,
                                                                        src=frame.crs or STORAGE_EPSG)),
                                    crs=epsg)
            shapely.prepare(proj.geometry.values)  # fast contains/intersects against many sites
            self._proj[key] = (proj, shapely.STRtree(proj.geometry.values))
        return self._proj[key]

    def matching(self, role: str, where: tuple = ()) -> np.ndarray:
        """Which rows of ``role`` (in stored order) pass the filter ``where`` (see :meth:`projected`)."""
        key = ("__matching__", role, where)
        if key not in self._proj:
            frame = self.frames[role]
            keep = np.ones(len(frame), dtype=bool)
            for fld, values in where:
                keep &= frame[fld].astype(str).isin([str(v) for v in values]).to_numpy()
            self._proj[key] = keep
        return self._proj[key]

    def outline_pieces(self, role: str, epsg: int, where: tuple = ()):
        """(pieces, owner, STRtree) of ``role`` in ``epsg``: every feature's outline (polygon rings,
        lines; points as they are) cut into short lines of at most :data:`PIECE_VERTICES` vertices,
        ``owner[k]`` the row (in :meth:`projected` order) piece ``k`` belongs to.

        For nearest-feature searches: a site outside a polygon is nearest to a point of its outline,
        and short pieces let the tree discard almost all of a long outline by its boxes, where a
        whole (densified) polygon costs a distance over all its vertices per candidate.
        """
        key = ("__pieces__", role, epsg, where)
        if key not in self._proj:
            frame, _ = self.projected(role, epsg, where)
            pieces, owner = [], []
            for row, geom in enumerate(frame.geometry.values):
                for piece in _outline_pieces(geom):
                    pieces.append(piece)
                    owner.append(row)
            pieces = np.array(pieces, dtype=object)
            self._proj[key] = (pieces, np.array(owner, dtype=np.int64), shapely.STRtree(pieces))
        return self._proj[key]

    def admin_index(self):
        """The admin layer prepared for :func:`zoning.geo.locate.locate_sites`, built once; None without it."""
        if "__admin_index__" not in self._proj:
            from zoning.geo.locate import admin_index

            ok = "admin" in self.frames and self.info["admin"].status == "ok"
            self._proj["__admin_index__"] = admin_index(self.frames["admin"]) if ok else None
        return self._proj["__admin_index__"]

    def stored(self, role: str):
        """(geometries, STRtree, records) of ``role`` as stored (EPSG:4490), prepared, in the row
        order of :meth:`projected` ``(role, epsg)``: overlays measured on the stored geometry."""
        key = ("__stored__", role)
        if key not in self._proj:
            frame = self.frames[role].reset_index(drop=True)
            if frame.crs is not None and not frame.crs.equals(STORAGE_EPSG):
                frame = frame.to_crs(STORAGE_EPSG)
            geoms = shapely.make_valid(frame.geometry.values)
            shapely.prepare(geoms)
            self._proj[key] = (geoms, shapely.STRtree(geoms), frame.drop(columns="geometry").to_dict("records"))
        return self._proj[key]

    def coverage_in(self, epsg: int):
        """The coverage area (union of the admin layer) in ``epsg``, densified then projected, prepared."""
        key = ("__coverage__", epsg)
        if key not in self._proj:
            cov = None
            if self.coverage is not None:
                cov = shapely.make_valid(project([self.coverage], epsg)[0])  # densified: edges stay put
                shapely.prepare(cov)
            self._proj[key] = cov
        return self._proj[key]

    @property
    def synthetic(self) -> bool:
        return any(i.synthetic for i in self.info.values())


def _merge(prev: LayerInfo | None, check: LayerCheck, n_kept: int) -> LayerInfo:
    """The role's info after one more of its catalog entries: failed wins, then partial."""
    spec = check.spec
    status = {"partial": "ok"}.get(check.status, check.status)
    if status == "ok" and n_kept == 0:
        status = "empty"
    info = LayerInfo(spec.role, spec.name, spec.vintage, spec.synthetic, status, check.detail,
                     {k: list(v) for k, v in check.bad.items()}, spec.coverage, spec.kind)
    if prev is None:
        return info
    info.name = f"{prev.name}; {spec.name}"
    info.synthetic = info.synthetic or prev.synthetic
    if prev.status == "failed" or status == "failed":
        info.status = "failed"
        info.detail = "; ".join(d for p, d in ((prev, prev.detail), (info, check.detail)) if p.status == "failed")
    elif prev.status == "ok" or status == "ok":
        info.status = "ok"
    for k, v in prev.bad.items():
        info.bad.setdefault(k, [])
        info.bad[k] = v + info.bad[k]
    if info.status == "ok" and info.bad:
        info.detail = f"{prev.detail}; {check.detail}"
    if prev.coverage != spec.coverage:
        info.coverage = f"{prev.coverage}+{spec.coverage}"
    return info


def load_layerset(catalog: Catalog, *, engine: str = "pyogrio") -> LayerSet:
    """Load every layer through :func:`zoning.io.validate.validate_layer` (the validation
    ``layers check`` runs): a layer that fails is recorded as failed, never as empty; features
    that cannot be used are left out and named (``LayerInfo.bad``), never dropped silently."""
    frames: dict[str, gpd.GeoDataFrame] = {}
    info: dict[str, LayerInfo] = {}
    for check in validate_catalog(catalog.layers, engine=engine):
        spec = check.spec
        gdf = check.frame
        n_kept = 0
        if gdf is not None and spec.kind == "vector":
            keep = [c for c in KEEP_FIELDS if c in gdf.columns]
            gdf = gdf[keep + ["geometry"]].copy()
            if "id" not in gdf.columns:
                gdf["id"] = gdf["code"] if "code" in gdf.columns else [f"{spec.role}-{i}" for i in range(len(gdf))]
            gdf["layer"] = spec.name
            if spec.role in frames:
                frames[spec.role] = pd.concat([frames[spec.role], gdf], ignore_index=True)
            else:
                frames[spec.role] = gdf.reset_index(drop=True)
            n_kept = len(frames[spec.role])
        elif spec.kind == "raster" and check.status == "ok":
            n_kept = 1
        info[spec.role] = _merge(info.get(spec.role), check, n_kept)
        if info[spec.role].status == "ok" and info[spec.role].bad and spec.kind == "vector":
            info[spec.role].detail = bad_detail(info[spec.role].bad, n_kept + len(info[spec.role].bad_ids))
    for role, (_, kind, _, _) in ROLES.items():
        if kind == "vector" and role not in info and role not in OPTIONAL_ROLES:
            info[role] = LayerInfo(role, ROLES[role][0], "", False, "failed", NO_LAYER_DETAIL)
    coverage = None
    if "admin" in frames and info["admin"].status == "ok":
        coverage = shapely.union_all(frames["admin"].geometry.values)
    layers = LayerSet(catalog=catalog, frames=frames, info=info, coverage=coverage)
    layers.coverages = _coverages(layers)
    return layers


def _coverages(layers: LayerSet) -> dict:
    """Coverage key -> area (EPSG:4490) for every key the roles use; None where it is unknown."""
    out: dict = {COVERAGE_DEFAULT: layers.coverage}
    names = {spec.name: spec.role for spec in layers.catalog.layers}
    for role, inf in layers.info.items():
        for key in inf.coverage.split("+"):
            if key in out and key != COVERAGE_SELF:
                continue
            source = role if key == COVERAGE_SELF else names.get(key, key)
            frame = layers.frames.get(source)
            ok = frame is not None and len(frame) and layers.info.get(source) is not None \
                and layers.info[source].status == "ok"
            area = shapely.union_all(frame.geometry.values) if ok else None
            out[f"{COVERAGE_SELF}:{role}" if key == COVERAGE_SELF else key] = area
    return out


def coverage_keys(info: LayerInfo) -> list[str]:
    """The keys into :attr:`LayerSet.coverages` of the areas a role is complete for."""
    return [f"{COVERAGE_SELF}:{info.role}" if k == COVERAGE_SELF else k for k in info.coverage.split("+")]


#: at most this many vertices per outline piece (see :meth:`LayerSet.outline_pieces`)
PIECE_VERTICES = 16


def _outline_pieces(geom) -> list:
    """The outline of ``geom`` (rings of polygons, lines, points) as lines of at most
    :data:`PIECE_VERTICES` vertices that overlap by one vertex, so together they are the outline."""
    if geom is None or geom.is_empty:
        return []
    kind = geom.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        return [p for part in shapely.get_parts(geom) for p in _outline_pieces(part)]
    if kind == "Point":
        return [geom]
    lines = [geom.exterior, *geom.interiors] if kind == "Polygon" else [geom]
    out = []
    step = PIECE_VERTICES - 1
    for line in lines:
        xy = shapely.get_coordinates(line)
        if len(xy) == 1:
            out.append(shapely.points(xy[0]))
        for start in range(0, len(xy) - 1, step):
            out.append(shapely.linestrings(xy[start:start + PIECE_VERTICES]))
    return out
