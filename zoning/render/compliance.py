"""The 符合性分析 table: one row per line (红线/底线/上线/准入清单) from a ScreenResult."""
from __future__ import annotations

from dataclasses import dataclass

from zoning.screening.result import ScreenResult
from zoning.vocabulary import LINES, NATURE_AREA_KINDS, SEVERITY, WATER_SOURCE_KINDS
from zoning.render.labels import fmt_area, fmt_m, line_label, outcome_label, role_label, t


@dataclass
class ComplianceRow:
    line: str
    situation: str
    outcome: str
    conformity: str
    notes: list[str]


def _hits(result: ScreenResult, role: str, kinds: tuple[str, ...] | None = None):
    return [h for h in result.hits if h.role == role and (kinds is None or h.props.get("kind") in kinds)]


def _hit_text(h, polygon: bool, lang: str) -> str:
    size = f"{fmt_area(h.area_m2)}，{h.share:.1%}" if polygon else ("contains the site" if lang == "en" else "站点位于其内")
    return f"{h.name}（{h.id}，{h.cls or '—'}；{size}）" if lang != "en" else f"{h.name} ({h.id}, {h.cls or '-'}; {size})"


def _nearest(result: ScreenResult, target: str):
    return next((n for n in result.nearest if n.target == target), None)


def _situation(result: ScreenResult, line: str, lang: str) -> str:
    polygon = (result.site.area_m2 or 0) > 0
    parts: list[str] = []
    en = lang == "en"
    if line == "生态保护红线":
        for role, kinds, target in (("red_line", None, "red_line"), ("protected", NATURE_AREA_KINDS, "protected")):
            hits = _hits(result, role, kinds)
            if hits:
                parts.append(("Overlaps " if en else "占用") + role_label(role, lang) + ": " +
                             "; ".join(_hit_text(h, polygon, lang) for h in hits))
            else:
                n = _nearest(result, target)
                label = role_label(role, lang)
                parts.append(f"{'No overlap with' if en else '不占用'} {label}"
                             + (f"{'; nearest' if en else '，最近距离'} {fmt_m(n.distance_m)}" if n else ""))
    elif line == "环境质量底线":
        hits = _hits(result, "protected", WATER_SOURCE_KINDS)
        if hits:
            parts.append(("Inside " if en else "位于") + "; ".join(_hit_text(h, polygon, lang) for h in hits))
        else:
            n = _nearest(result, "water_source")
            parts.append(("Nearest drinking-water source zone " if en else "距最近饮用水水源保护区 ") + fmt_m(n.distance_m if n else None))
        nb = _hits(result, "no_burn")
        parts.append(("Inside a no-burn zone" if en else "位于高污染燃料禁燃区内") if nb else
                     ("Outside no-burn zones" if en else "不在高污染燃料禁燃区内"))
        th, fuel = result.inputs.get("boiler_th"), result.inputs.get("boiler_fuel")
        if th is not None or fuel is not None:
            parts.append(f"{'boiler' if en else '锅炉'} {th if th is not None else '?'} t/h, {fuel or '?'}")
    elif line == "资源利用上线":
        e, r = result.inputs.get("energy_tce"), result.inputs.get("renewable_share")
        th = result.derived.get("is_two_high")
        parts.append(f"{'annual energy use' if en else '年综合能耗'} "
                     f"{'—' if e is None else f'{e:,.0f} tce'}")
        parts.append(f"{'renewable share' if en else '可再生能源比例'} {'—' if r is None else f'{r:.0%}'}")
        parts.append(f"{'two-high project' if en else '“两高”项目'}：{'—' if th is None else t('yes' if th else 'no', lang)}")
    else:
        units = _hits(result, "control_unit")
        if units:
            parts.append(("Control units: " if en else "所在管控单元：") + "; ".join(_hit_text(h, polygon, lang) for h in units))
        parks = _hits(result, "park")
        if parks:
            parts.append(("Industrial park: " if en else "所在工业园区：") + "; ".join(_hit_text(h, polygon, lang) for h in parks))
        ind = result.inputs.get("industry")
        name = result.derived.get("industry_name")
        parts.append(f"{'industry' if en else '行业代码'} {ind or '—'}" + (f"（{name}）" if name else ""))
    return "；".join(parts) if not en else "; ".join(parts)


def compliance_rows(result: ScreenResult, lang: str = "zh") -> list[ComplianceRow]:
    """Rows of the 符合性分析 table, in the order 红线, 底线, 上线, 准入清单."""
    by_line = result.rules_by_line()
    rows = []
    for line in LINES:
        fired = by_line.get(line, [])
        if fired:
            worst = max((r.outcome for r in fired), key=lambda o: SEVERITY[o])
            notes = [f"[{r.id}] {r.message_en if lang == 'en' else r.message}" +
                     (f" ({'; '.join(r.reasons)})" if r.reasons else "") for r in fired]
        else:
            worst = "compliant"
            notes = [t("no_rules_fired", lang)]
        rows.append(ComplianceRow(line_label(line, lang), _situation(result, line, lang), worst,
                                  outcome_label(worst, lang), notes))
    return rows
