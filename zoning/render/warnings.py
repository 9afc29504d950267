"""Warnings of screening results, for people: every warning of one site, or a batch summarised
per kind with counts and example site ids. Each warning is one line, Chinese then English.

The console (``zoning screen``) prints these before the verdict table; the HTML and DOCX
reports put the same warnings at their top.
"""
from __future__ import annotations

import re
from typing import Sequence

from zoning.screening.result import ScreenResult
from zoning.vocabulary import WARNING_KINDS

#: (kind, fragment) tried in order on a warning's text; the first fragment found decides its kind
_KIND_FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("coverage", "outside the layers' coverage"),
    ("coverage", "outside the layer set"),
    ("coverage", "beyond the layer set"),
    ("synthetic", "SYNTHETIC"),
    ("layer", "failed to load"),
    ("layer", "unusable features"),
    ("layer", "does not cover"),
    ("no_crs", "no CRS given"),
    ("offset_datum", "converted from"),
    ("crs_override", "--crs overrides"),
    ("crs_hint", "the CRS may be wrong"),
    ("repair", "repaired"),
    ("z_dropped", "Z coordinates"),
    ("carbon", "forest carbon"),
    ("carbon", "raster"),
    ("counties", "the site spans"),
    ("columns", "columns not used as screening attributes"),
    ("columns", "in units of 10^4"),
    ("columns", ") renamed "),
    ("columns", " read as "),  # after every kind whose text may say how it was read (no CRS given …)
    ("industry", "行业代码"),
    ("industry", "industry"),
)
EXAMPLE_IDS = 5


def warning_kind(text: str) -> str:
    """The kind of a warning (a key of :data:`zoning.vocabulary.WARNING_KINDS`)."""
    for kind, fragment in _KIND_FRAGMENTS:
        if fragment in text:
            return kind
    return "other"


def kind_label(kind: str) -> str:
    zh, en = WARNING_KINDS.get(kind, WARNING_KINDS["other"])
    return f"{zh} / {en}"


def summarise(results: Sequence[ScreenResult]) -> list[dict]:
    """One entry per kind of warning across ``results``, in order of first appearance:
    ``{"kind", "label", "sites": [site ids], "count", "example"}`` (example: the first text seen;
    for "other" warnings, texts that differ only in their numbers count as one kind)."""
    groups: dict[str, dict] = {}
    for r in results:
        for text in r.warnings:
            kind = warning_kind(text)
            key = kind if kind != "other" else "other:" + re.sub(r"\d+(?:\.\d+)?", "#", text)
            g = groups.setdefault(key, {"kind": kind, "label": kind_label(kind), "sites": [], "example": text})
            if not g["sites"] or g["sites"][-1] != r.site_id:
                g["sites"].append(r.site_id)
    for g in groups.values():
        g["count"] = len(g["sites"])
    return list(groups.values())


def warning_lines(results: Sequence[ScreenResult]) -> list[str]:
    """Console lines: every warning for one site; for a batch, one line per kind with the number
    of sites, example site ids and the first message. Empty when there is nothing to say."""
    results = list(results)
    if len(results) == 1:
        r = results[0]
        if not r.warnings:
            return []
        return [f"提示 / warnings ({r.site_id}):"] + [f"  ! {w}" for w in r.warnings]
    groups = summarise(results)
    if not groups:
        return []
    n_sites = len({s for g in groups for s in g["sites"]})
    lines = [f"提示 / warnings: {len(groups)} 类 kinds, {n_sites} 个站点 sites"]
    for g in groups:
        ids = ", ".join(g["sites"][:EXAMPLE_IDS]) + (" …" if g["count"] > EXAMPLE_IDS else "")
        lines.append(f"  ! {g['label']}：{g['count']} 个站点 sites ({ids})")
        lines.append(f"      {tidy(g['example'])}")
    return lines


def reason_lines(result: ScreenResult) -> list[str]:
    """Why the verdict is what it is, when the rules alone would say otherwise (most important first)."""
    return [f"结论说明 / why the verdict: {x}" for x in result.verdict_reasons]


def short_reason(result: ScreenResult) -> str:
    """A few words for a table cell saying why the verdict is needs_info when the rules alone
    would not make it so: the site's coverage first, then layer problems."""
    if not result.verdict_reasons:
        return ""
    if result.site.coverage == "outside":
        return "范围外 outside coverage"
    if result.site.coverage == "partial":
        return "部分在范围外 partly outside coverage"
    bad = [lr.role for lr in result.layers if lr.status not in ("ok", "outside")]
    if bad:
        return f"图层问题 layer problem: {', '.join(dict.fromkeys(bad))}"
    undecided = [r for r in result.rules if r.outcome == "needs_info"]
    codes = [x for r in undecided for x in r.reasons if x.startswith("行业代码")]
    if codes:
        head = codes[0].split(" / ", 1)[-1]
        classes = list(dict.fromkeys(re.findall(r"\b[A-T]\d{4}\b", " ".join(codes))))
        given = re.search(r"industry code (\S+)", head)
        classes = [c for c in classes if not given or c != given.group(1)]
        code = given.group(1) if given else "?"
        if "not in GB/T" in head or "not a GB/T" in head:
            return f"行业代码 {code} 非 GB/T 4754-2017 小类 / {code} is not a GB/T 4754-2017 class"
        shown = f"{', '.join(classes[:6])}{' …' if len(classes) > 6 else ''}"
        return f"行业代码 {code} 未定，小类结论不同 / undecided industry code {code}: classes differ ({shown})"
    missing = list(dict.fromkeys(m for text in result.verdict_reasons
                                 for m in re.findall(r"for want of ([\w, ]+?) and could", text)))
    if missing:
        names = list(dict.fromkeys(n.strip() for m in missing for n in m.split(",") if n.strip()))
        data = [n for n in names if n == "forest carbon data"]  # a layer without data, not an attribute
        attrs = [n for n in names if n not in data]
        parts = ([f"缺少属性 missing attribute: {', '.join(attrs)}"] if attrs else []) + \
            (["碳密度图无数据 no forest carbon data"] if data else [])
        return "; ".join(parts)
    return "需补充信息 needs information"


def tidy(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
