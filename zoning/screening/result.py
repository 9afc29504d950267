"""The one result model of screening. JSON, HTML, DOCX, maps and exports all render it.

Schema: ``zoning/schema/result.schema.json`` (validated in tests).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoning._version import __version__
from zoning.errors import UnreadableInput

SCHEMA_VERSION = "1.0"


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

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON (schema: zoning/schema/result.schema.json)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

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


def read_results(paths) -> list[ScreenResult]:
    """Screening results read back from files or ``zoning screen -o`` folders, without screening again."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    results: list[ScreenResult] = []
    for given in paths:
        for path in result_files(given):
            try:
                doc = json.loads(Path(path).read_text(encoding="utf-8"))
                docs = doc if isinstance(doc, list) else [doc]
                results += [ScreenResult.from_dict(d) for d in docs]
            except KeyError as exc:
                raise UnreadableInput(f"{path} 不是 zoning screen 的结果文件（缺少 {exc}）",
                                      f"{path} is not a zoning screen result (missing key {exc}); pass result.json "
                                      f"or the screen output folder") from None
            except (OSError, ValueError, TypeError) as exc:
                raise UnreadableInput(f"无法读取筛查结果 {path}：{exc}",
                                      f"cannot read screening result {path}: {exc}") from None
    if paths and not results:
        raise UnreadableInput("没有找到筛查结果（result.json 或 results/*.json）",
                              "no screening results found (result.json or results/*.json)")
    return results
