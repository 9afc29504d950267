"""The one result model of screening. JSON, HTML, DOCX, maps and exports all render it.

Schema: ``zoning/schema/result.schema.json`` (validated in tests).

Results are values to read: parts equal across a batch (layer and rule records, clause rows, the
carbon parameter table) may be one shared object, so edit a copy (``to_dict()``,
``dataclasses.replace``), not a result in place.
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from zoning._version import __version__
from zoning.errors import UnreadableInput

SCHEMA_VERSION = "1.0"

_ATOMS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def records_json(doc: dict) -> str:
    """``doc`` as JSON: a top-level member per line; a list of objects one object per line."""
    encode = _COMPACT.encode
    members = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            text = "[\n" + ",\n".join("    " + encode(v) for v in value) + "\n  ]"
        else:
            text = encode(value)
        members.append(f"  {encode(str(key))}: {text}")
    return "{\n" + ",\n".join(members) + "\n}" if members else "{}"


def plain(value):
    """``dataclasses.asdict`` of a result's parts, 4-5 times faster: dataclasses become dicts, lists,
    tuples and dicts are copied, text and numbers are kept (immutable); anything else deep-copied
    as asdict does. A result is turned into a dict for the history, its JSON file and the map."""
    cls = type(value)
    if cls in _ATOMS:
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None and is_dataclass(cls):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    if names is not None:
        return {n: plain(getattr(value, n)) for n in names}
    if cls is list:
        return [plain(v) for v in value]
    if cls is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    if cls is tuple:
        return tuple(plain(v) for v in value)
    return copy.deepcopy(value)


@dataclass
class RuleRecord:
    id: str
    outcome: str  # prohibited | conditional | needs_info | compliant
    dimension: str
    line: str
    title: str
    title_en: str
    message: str
    message_en: str
    citation: str
    reasons: list[str] = field(default_factory=list)
    #: needs_info: the outcome(s) the rule could end as once the missing information is known
    possible_outcomes: list[str] = field(default_factory=list)


@dataclass
class HitRecord:
    role: str
    id: str
    name: str
    cls: str | None
    area_m2: float  # overlap, planar in the site's GK zone (crs_used): the area official results use
    share: float  # overlap / site area (polygons), crossing length / site length (lines), 1 (points)
    props: dict = field(default_factory=dict)
    area_ellipsoidal_m2: float | None = None  # the same overlap on the CGCS2000 ellipsoid (None: older results)
    length_m: float = 0.0  # lines: geodesic length of the site inside the feature


@dataclass
class NearestRecord:
    target: str
    role: str
    id: str | None
    name: str | None
    distance_m: float | None


@dataclass
class BufferRecord:
    ring_m: float
    role: str
    id: str
    name: str
    cls: str | None
    distance_m: float


@dataclass
class LayerRecord:
    role: str
    name: str
    vintage: str
    status: str  # ok | empty | partial | failed | outside | partly_outside | gap
    synthetic: bool
    detail: str = ""
    bad_ids: list[str] = field(default_factory=list)  # features that could not be used (partial/failed layers)


@dataclass
class SiteInfo:
    name: str | None
    geom_type: str | None
    lon: float | None
    lat: float | None
    area_m2: float  # ellipsoidal (geodesic) area on the CGCS2000 ellipsoid
    length_m: float  # geodesic length of a line site
    county: str | None
    county_code: str | None
    coverage: str  # inside | partial | outside | unknown
    crs_in: str | None
    wkt: str | None  # EPSG:4490 geometry, for renderers (maps, figures, exports)
    area_gk_m2: float | None = None  # planar area in the site's 3-degree GK zone (勘测定界 / official results)
    #: 界址点 of a polygon site in its GK zone (corners_crs): point (J1 …), part, ring (1 = outer), x = northing, y = easting
    corners: list[dict] = field(default_factory=list)
    corners_crs: str | None = None
    #: how many 界址点 the polygon has (``corners`` lists at most the first 2,000); None for
    #: points, lines, error rows and older results
    corners_total: int | None = None


@dataclass
class ScreenResult:
    site_id: str
    verdict: str | None  # None only for an error row
    rules: list[RuleRecord]
    hits: list[HitRecord]
    nearest: list[NearestRecord]
    buffers: list[BufferRecord]
    buffer_rings_m: list[float]
    layers: list[LayerRecord]
    rule_pack: dict
    crs_used: str | None
    warnings: list[str]
    inputs: dict[str, Any]
    derived: dict[str, Any]
    site: SiteInfo
    synthetic_layers: bool
    carbon: dict | None = None
    error: str | None = None
    #: why the verdict is what it is when the rules alone would say otherwise (coverage, layer
    #: problems), most important first; each "中文 / English"
    verdict_reasons: list[str] = field(default_factory=list)
    #: needs_info: every verdict the site could get once the missing information is known
    possible_verdicts: list[str] = field(default_factory=list)
    zoning_version: str = __version__
    schema_version: str = SCHEMA_VERSION
    #: key of the stored screening in the service's history (``zoning serve``); None elsewhere
    id: str | None = None
    #: the access-list clauses of every control unit the site touches (一单元一清单), each
    #: {unit_code, tier, dimension, number, text, status, rule_id}; status complies | violates |
    #: conditional (decided by rule_id) or manual (需人工核查); [] without a clause library
    clauses: list[dict] = field(default_factory=list)
    #: 审核意见草稿: {draft: true, zh, en, clause_library}; None for error rows and older results
    opinion: dict | None = None

    def to_dict(self) -> dict:
        """The result as plain dicts and lists (a copy: editing it leaves the result as it was)."""
        return plain(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON (schema: zoning/schema/result.schema.json)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_json_file_text(self) -> str:
        """The result's JSON as its file holds it: ``to_json()``'s content laid out for reading
        (a member per line, a record of a list per line) by the C encoder, 4-5 times faster than
        ``indent=2`` (Python's indenting encoder is pure Python): a 100,000-site batch writes its
        files in seconds, not minutes."""
        return records_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "ScreenResult":
        d = dict(d)
        d["rules"] = [RuleRecord(**r) for r in d["rules"]]
        d["hits"] = [HitRecord(**h) for h in d["hits"]]
        d["nearest"] = [NearestRecord(**n) for n in d["nearest"]]
        d["buffers"] = [BufferRecord(**b) for b in d["buffers"]]
        d["layers"] = [LayerRecord(**layer) for layer in d["layers"]]
        d["site"] = SiteInfo(**d["site"])
        return cls(**d)

    def warnings_beyond_reasons(self) -> list[str]:
        """The warnings that do not repeat a verdict reason (a partly-outside site has both, in the
        same Chinese words): what a page lists after the reasons, each thing said once."""
        said = {x.split(" / ", 1)[0].strip() for x in self.verdict_reasons}
        return [w for w in self.warnings if w.split(" / ", 1)[0].strip() not in said]

    def rules_by_line(self) -> dict[str, list[RuleRecord]]:
        out: dict[str, list[RuleRecord]] = {}
        for r in self.rules:
            out.setdefault(r.line, []).append(r)
        return out


def result_files(path: Path | str) -> list[Path]:
    """The result JSON files of ``path``: a result.json, a JSON list of results, or a
    ``zoning screen -o`` folder (its result.json or results/*.json)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return ([path / "result.json"] if (path / "result.json").exists() else []) + sorted((path / "results").glob("*.json"))


#: largest result file read back (bytes)
MAX_RESULT_BYTES = 200 * 1024 * 1024


def _type_ok(value, annotation: str) -> bool:
    """Whether ``value`` fits a field annotation such as ``str | None``, ``float``, ``list[str]``."""
    for option in (a.strip() for a in annotation.split("|")):
        if option == "None" and value is None:
            return True
        if option == "Any":
            return True
        if option == "str" and isinstance(value, str):
            return True
        if option == "bool" and isinstance(value, bool):
            return True
        if option in ("float", "int") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return option == "int" and isinstance(value, int) or option == "float" and math.isfinite(value)
        if (option.startswith("dict") or option[:1].isupper()) and isinstance(value, dict):
            return True  # a nested record (SiteInfo …) is checked by its own class
        if option.startswith("list[") and isinstance(value, list):
            inner = option[5:-1]
            return all(isinstance(v, dict) if inner[:1].isupper() else _type_ok(v, inner) for v in value)
        if option == "list" and isinstance(value, list):
            return True
    return False


def _check_fields(cls, d, where: str) -> None:
    """Every field of dataclass ``cls`` in ``d`` has the annotated type; unknown keys are refused."""
    if not isinstance(d, dict):
        raise ValueError(f"{where} must be an object, not {type(d).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = [k for k in d if k not in known]
    if unknown:
        raise ValueError(f"{where}: unknown key {str(unknown[0])[:40]!r}")
    for name, f in known.items():
        if name not in d:
            if f.default is MISSING and f.default_factory is MISSING:
                raise KeyError(f"{where}.{name}")
            continue
        if not _type_ok(d[name], str(f.type)):
            raise ValueError(f"{where}.{name} has a wrong type or value: {str(d[name])[:60]!r}")


def check_result_dict(d) -> None:
    """Refuse (ValueError/KeyError) a result document that renderers could not draw: wrong types,
    non-finite numbers, unknown verdicts, unreadable geometry or CRS. Result files are data: a
    broken or hostile one is a message, never a crash in a map or an export."""
    import shapely

    from zoning.vocabulary import OUTCOMES

    _check_fields(ScreenResult, d, "result")
    for key, cls in (("rules", RuleRecord), ("hits", HitRecord), ("nearest", NearestRecord),
                     ("buffers", BufferRecord), ("layers", LayerRecord)):
        for i, item in enumerate(d[key]):
            _check_fields(cls, item, f"{key}[{i}]")
    _check_fields(SiteInfo, d["site"], "site")
    if d["verdict"] is not None and d["verdict"] not in OUTCOMES:
        raise ValueError(f"unknown verdict {str(d['verdict'])[:40]!r}")
    for i, rule in enumerate(d["rules"]):
        if rule["outcome"] not in OUTCOMES:
            raise ValueError(f"rules[{i}]: unknown outcome {str(rule['outcome'])[:40]!r}")
    if d.get("crs_used") is not None and not re.fullmatch(r"EPSG:\d{4,6}", d["crs_used"]):
        raise ValueError(f"crs_used {str(d['crs_used'])[:40]!r} is not EPSG:<code>")
    if any(not (0 < r <= 1e6) for r in d["buffer_rings_m"]):
        raise ValueError("buffer_rings_m must hold positive radii (m) up to 1,000 km")
    wkt = d["site"]["wkt"]
    if wkt is not None:
        try:
            geom = shapely.from_wkt(wkt)
        except Exception:  # noqa: BLE001 - shapely raises its own GEOS errors
            raise ValueError("site.wkt is not a readable geometry") from None
        if geom is None or geom.is_empty or not bool(np_isfinite_all(geom)):
            raise ValueError("site.wkt is empty or has non-finite coordinates")
        x0, y0, x1, y1 = geom.bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise ValueError("site.wkt lies outside lon/lat degrees")
    from zoning.vocabulary import CLAUSE_STATUSES, CLAUSE_TIERS, DIMENSIONS
    for i, c in enumerate(d.get("clauses") or []):
        if not (isinstance(c, dict) and c.get("status") in CLAUSE_STATUSES and c.get("tier") in CLAUSE_TIERS
                and c.get("dimension") in DIMENSIONS and isinstance(c.get("text"), str)
                and isinstance(c.get("unit_code"), str) and isinstance(c.get("number"), str)
                and (c.get("rule_id") is None or isinstance(c.get("rule_id"), str))):
            raise ValueError(f"clauses[{i}] is not a clause record (unit_code, tier, dimension, number, text, status, "
                             f"rule_id)")
    opinion = d.get("opinion")
    if opinion is not None and not (isinstance(opinion, dict) and opinion.get("draft") is True
                                    and isinstance(opinion.get("zh"), str) and isinstance(opinion.get("en"), str)):
        raise ValueError("opinion must be a draft with zh and en texts")
    for i, c in enumerate(d["site"].get("corners") or []):
        if not (isinstance(c, dict) and isinstance(c.get("point"), str) and _type_ok(c.get("x"), "float")
                and _type_ok(c.get("y"), "float") and _type_ok(c.get("part"), "int") and _type_ok(c.get("ring"), "int")):
            raise ValueError(f"site.corners[{i}] must hold point (text), part, ring (integers), x, y (finite numbers)")
    carbon = d.get("carbon")
    if carbon is not None:
        for key in ("stock_tCO2", "forest_ha", "loss_tCO2"):
            if carbon.get("status") == "ok" and not _type_ok(carbon.get(key), "float"):
                raise ValueError(f"carbon.{key} must be a finite number")


def np_isfinite_all(geom) -> bool:
    import numpy as np
    import shapely

    return bool(np.isfinite(shapely.get_coordinates(geom)).all())


def read_results(paths) -> list[ScreenResult]:
    """Screening results read back from files or ``zoning screen -o`` folders, without screening again.

    Each file is checked before use (encoding, size, nesting, every field's type, verdicts,
    geometry): a broken or hostile file is a one-line :class:`UnreadableInput` naming it."""
    from zoning.io.inputs import load_json, read_text

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    results: list[ScreenResult] = []
    for given in paths:
        for path in result_files(given):
            text = read_text(path, "筛查结果", "screening result", error=UnreadableInput, max_bytes=MAX_RESULT_BYTES)
            doc = load_json(text, str(path), error=UnreadableInput)
            docs = doc if isinstance(doc, list) else [doc]
            for d in docs:
                try:
                    check_result_dict(d)
                    results.append(ScreenResult.from_dict(d))
                except KeyError as exc:
                    raise UnreadableInput(f"{path} 不是 zoning screen 的结果文件（缺少 {exc}）",
                                          f"{path} is not a zoning screen result (missing key {exc}); pass "
                                          f"result.json or the screen output folder") from None
                except (ValueError, TypeError, AttributeError) as exc:
                    raise UnreadableInput(f"无法读取筛查结果 {path}：{exc}",
                                          f"cannot read screening result {path}: {exc}") from None
    if paths and not results:
        raise UnreadableInput("没有找到筛查结果（result.json 或 results/*.json）",
                              "no screening results found (result.json or results/*.json)")
    return results
