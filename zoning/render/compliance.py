"""The 符合性分析 table: one row per line (红线/底线/上线/准入清单) from a ScreenResult.

One source: every hit belongs to exactly one line (:func:`line_of_hit`), every rule to the line
its pack gives it (``RuleRecord.line``), and each row's 本项目情况 and 相符性 are derived from
those same hits and rules, so no row can deny what another reports:

- a part of a row says "不占用 / 不在 … 内" only when its layer is usable at the site and has no
  hit there; a layer that failed, lacks features or does not cover the site is said so;
- 相符性 is the verdict of the row's rules (:func:`zoning.screening.rules.verdict_of`): the most
  severe outcome that fired, or 需补充信息 when an undecided rule could end more severe;
- the access-list row names every control unit the site touches (code, name, class).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from zoning.screening.result import HitRecord, ScreenResult
from zoning.screening.rules import verdict_of
from zoning.vocabulary import LAYER_STATUS_EN, LAYER_STATUS_ZH, LINES, NATURE_AREA_KINDS, WATER_SOURCE_KINDS
from zoning.render.labels import fmt_m, line_label, outcome_label, role_label, t
from zoning.render.sizes import hit_size_text

RED_LINE, BASELINE, CAP, ACCESS_LIST = LINES


@dataclass
class ComplianceRow:
    line: str
    situation: str
    outcome: str
    conformity: str
    notes: list[str]


@dataclass(frozen=True)
class Part:
    """One thing a row reports on: the hits of a role (or of some kinds of a role)."""

    topic: str  #: role or topic key (role_label names it)
    role: str  #: the layer role whose hits and status it reports
    match: Callable[[HitRecord], bool]
    nearest: str | None  #: nearest-distance target shown when there is no hit
    inside: tuple[str, str]  #: (zh, en) verb for a hit: 占用 / 位于 …
    optional: bool = False  #: say nothing when there is neither a hit nor a problem


def _kind_in(kinds: tuple[str, ...], negate: bool = False) -> Callable[[HitRecord], bool]:
    return lambda h: (h.props.get("kind") in kinds) != negate


def _any(h: HitRecord) -> bool:
    return True


#: line -> its parts. Protected areas split by kind: nature areas (and any kind that is not a
#: drinking-water zone) belong to the red line, drinking-water zones to the quality baseline.
PARTS: dict[str, tuple[Part, ...]] = {
    RED_LINE: (Part("red_line", "red_line", _any, "red_line", ("占用", "Overlaps")),
               Part("nature_area", "protected", _kind_in(WATER_SOURCE_KINDS, negate=True), "protected",
                    ("占用", "Overlaps"))),
    BASELINE: (Part("water_source", "protected", _kind_in(WATER_SOURCE_KINDS), "water_source", ("位于", "Inside")),
               Part("no_burn", "no_burn", _any, "no_burn", ("位于", "Inside"))),
    CAP: (Part("program", "program", _any, None, ("位于", "Inside"), optional=True),),
    ACCESS_LIST: (Part("control_unit", "control_unit", _any, None, ("所在", "Inside")),
                  Part("park", "park", _any, "park", ("位于", "Inside"))),
}
#: words that say "no hit" (the property tests look for them)
NO_HIT_ZH, NO_HIT_EN = ("不占用", "不在"), ("No overlap with", "Outside")
assert set(NATURE_AREA_KINDS).isdisjoint(WATER_SOURCE_KINDS)


def line_of_hit(h: HitRecord) -> str | None:
    """The line a hit belongs to (None for roles no row reports, e.g. admin)."""
    for line, parts in PARTS.items():
        if any(p.role == h.role and p.match(h) for p in parts):
            return line
    return None


def _hit_text(h: HitRecord, result: ScreenResult, lang: str) -> str:
    size = hit_size_text(h, result, lang)  # GK area and share, crossing length and share, or containment
    return f"{h.id} {h.name}（{h.cls or '—'}；{size}）" if lang != "en" else f"{h.id} {h.name} ({h.cls or '-'}; {size})"


def _nearest(result: ScreenResult, target: str | None):
    return next((n for n in result.nearest if n.target == target), None) if target else None


def _part_text(part: Part, result: ScreenResult, lang: str) -> str | None:
    en = lang == "en"
    label = role_label(part.topic, lang)
    hits = [h for h in result.hits if h.role == part.role and part.match(h)]
    if hits:
        verb = part.inside[1] if en else part.inside[0]
        sep = "; " if en else "；"
        return f"{verb} {label}: " + sep.join(_hit_text(h, result, lang) for h in hits) if en else \
            f"{verb}{label}：" + sep.join(_hit_text(h, result, lang) for h in hits)
    status = {lr.role: lr.status for lr in result.layers}.get(part.role)
    if status is None:
        return None if part.optional else (f"{label}: no layer, cannot tell" if en else f"{label}：无图层，无法判断")
    if status != "ok":
        return (f"{label}: layer {LAYER_STATUS_EN.get(status, status)}, cannot tell" if en else
                f"{label}：图层{LAYER_STATUS_ZH.get(status, status)}，无法判断")
    if part.optional:
        return None
    n = _nearest(result, part.nearest)
    near = (f"; nearest {fmt_m(n.distance_m)}" if en else f"，最近距离 {fmt_m(n.distance_m)}") if n else ""
    if part.inside[0] == "占用":
        return f"{NO_HIT_EN[0]} {label}{near}" if en else f"{NO_HIT_ZH[0]}{label}{near}"
    return f"{NO_HIT_EN[1]} {label}{near}" if en else f"{NO_HIT_ZH[1]}{label}内{near}"


def _facts_text(result: ScreenResult, line: str, lang: str) -> list[str]:
    """The project's attributes a row's rules look at."""
    en = lang == "en"
    inp, der = result.inputs, result.derived
    if line == BASELINE:
        th, fuel = inp.get("boiler_th"), inp.get("boiler_fuel")
        if th is None and fuel is None:
            return []
        return [f"{'boiler' if en else '锅炉'} {'?' if th is None else f'{th:g}'} t/h, "
                f"{'fuel' if en else '燃料'} {fuel or '?'}"]
    if line == CAP:
        e, r, th = inp.get("energy_tce"), inp.get("renewable_share"), der.get("is_two_high")
        return [f"{'annual energy use' if en else '年综合能耗'} {'—' if e is None else f'{e:,.0f} tce'}",
                f"{'renewable share' if en else '可再生能源比例'} {'—' if r is None else f'{r:.0%}'}",
                f"{'two-high project' if en else '“两高”项目'}：{'—' if th is None else t('yes' if th else 'no', lang)}"]
    if line == ACCESS_LIST:
        ind, name = inp.get("industry"), der.get("industry_name")
        return [f"{'industry' if en else '行业代码'} {ind or '—'}" + (f"（{name}）" if name else "")]
    return []


def _situation(result: ScreenResult, line: str, lang: str) -> str:
    parts = [p for p in (_part_text(part, result, lang) for part in PARTS[line]) if p]
    parts += _facts_text(result, line, lang)
    return ("; " if lang == "en" else "；").join(parts) or ("—")


def _note(r, lang: str) -> str:
    en = lang == "en"
    text = f"[{r.id}] {outcome_label(r.outcome, lang)}: {r.message_en if en else r.message}"
    if r.reasons:
        text += f" ({'; '.join(r.reasons)})"
    worse = [p for p in (r.possible_outcomes or []) if p != r.outcome]
    if r.outcome == "needs_info" and worse:
        could = ", ".join(outcome_label(p, lang) for p in worse)
        text += f" — could end {could}" if en else f"——补充信息后可能为：{could}"
    return text


def compliance_rows(result: ScreenResult, lang: str = "zh") -> list[ComplianceRow]:
    """Rows of the 符合性分析 table, in the order 红线, 底线, 上线, 准入清单."""
    by_line = result.rules_by_line()
    rows = []
    for line in LINES:
        fired = by_line.get(line, [])
        worst = verdict_of((r.outcome, r.possible_outcomes or []) for r in fired)
        notes = [_note(r, lang) for r in fired] or [t("no_rules_fired", lang)]
        rows.append(ComplianceRow(line_label(line, lang), _situation(result, line, lang), worst,
                                  outcome_label(worst, lang), notes))
    return rows
