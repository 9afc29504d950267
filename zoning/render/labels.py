"""Words shown to people, in Chinese (default) and English."""
from __future__ import annotations

from zoning.geo.measure import MU_M2
from zoning.vocabulary import DIMENSION_EN, LAYER_STATUS_ZH as STATUS_ZH, LINE_EN, OUTCOME_EN, OUTCOME_ZH, role_name


T = {
    "title": ("建设项目生态环境分区管控符合性分析报告", "Environmental zoning compliance screening report"),
    "verdict": ("结论", "Verdict"),
    "site": ("项目站点", "Site"),
    "site_id": ("站点编号", "Site id"),
    "corners": ("界址点坐标表", "Boundary corner points (界址点)"),
    "clauses": ("生态环境准入清单条款对照", "Access-list clauses (生态环境准入清单)"),
    "clauses_note": ("逐条列出站点所涉环境管控单元适用的准入清单条款（省级、市级、县级通用要求及单元自身要求，四个维度）；"
                     "“符合/不符合/有条件”由所列规则判定，“需人工核查”须由审核人员核查。",
                     "Every access-list clause that applies to the control units the site touches (province, city "
                     "and county general requirements and the unit's own, in four dimensions); complies / does not "
                     "comply / conditional are decided by the rule named, manual checks are left to the reviewer."),
    "clause_unit": ("单元编码", "Unit"),
    "clause_tier": ("层级", "Tier"),
    "clause_number": ("条号", "No."),
    "clause_text": ("条款内容", "Clause"),
    "clause_status": ("判定", "Status"),
    "checklist": ("人工核查清单", "Reviewer's checklist (manual checks)"),
    "opinion": ("审核意见草稿", "Draft review opinion"),
    "opinion_note": ("草稿：由系统根据筛查结果自动生成，须经审核人员核实修改，不构成审批意见。",
                     "DRAFT: generated from the screening result; to be verified and edited by the reviewer; "
                     "not an approval."),
    "corner_point": ("点号", "Point"),
    "corner_part": ("地块", "Part"),
    "corner_ring": ("圈号", "Ring"),
    "corner_x": ("X（北坐标，m）", "X (northing, m)"),
    "corner_y": ("Y（东坐标，m）", "Y (easting, m)"),
    "corner_note": ("坐标系：{crs}（CGCS2000 3 度带高斯-克吕格投影，Y 不含带号）；圈号 1 为外边界，其余为内环（扣除部分）；{count}",
                    "CRS: {crs} (CGCS2000 3-degree Gauss-Kruger, Y without zone prefix); ring 1 is the outer boundary, "
                    "others are holes; {count}"),
    "corner_count": ("共 {n} 个界址点。", "{n} corner points."),
    "corner_cut": ("共 {total} 个界址点，此处只列出前 {n} 个（已截断）。",
                   "{total} corner points in all: the first {n} are listed (cut)."),
    "name": ("项目名称", "Project name"),
    "county": ("所在县区", "County"),
    "geom": ("几何类型", "Geometry"),
    "centroid": ("中心点（CGCS2000）", "Centroid (CGCS2000)"),
    "area": ("面积", "Area"),
    "area_ellipsoidal": ("面积（椭球面）", "Area (ellipsoidal)"),
    "area_gk": ("面积（高斯-克吕格平面）", "Area (Gauss-Kruger plane)"),
    "area_note": ("面积说明：高斯-克吕格平面面积为站点所在 3 度带（量算坐标系）中的平面面积，勘测定界等正式成果采用此面积；"
                  "椭球面面积为 CGCS2000 椭球面上的面积。两者在南平相差约 0.01-0.06 %。1 亩 = 666.667 m²。",
                  "Areas: the Gauss-Kruger planar area is measured in the site's 3-degree zone (the measurement "
                  "CRS) and is the one land surveys (勘测定界) and official results use; the ellipsoidal area is "
                  "measured on the CGCS2000 ellipsoid. In Nanping they differ by about 0.01-0.06 %. "
                  "1 mu (亩) = 666.667 m²."),
    "length": ("长度（椭球面）", "Length (ellipsoidal)"),
    "hit_area_gk": ("占用面积（高斯平面）", "Overlap (GK plane)"),
    "hit_area_ellipsoidal": ("占用面积（椭球面）", "Overlap (ellipsoidal)"),
    "crossing": ("穿越长度", "Crossing length"),
    "length_share": ("占线路长度比例", "Share of line length"),
    "contains_site": ("站点位于其内", "contains the site"),
    "crs_in": ("输入坐标系", "Input CRS"),
    "crs_used": ("量算坐标系", "Measurement CRS"),
    "compliance": ("符合性分析", "Compliance analysis"),
    "line": ("管控要求", "Requirement"),
    "situation": ("本项目情况", "This project"),
    "conformity": ("相符性", "Conformity"),
    "notes": ("说明", "Notes"),
    "rules": ("触发的规则", "Rules that fired"),
    "rule_id": ("规则", "Rule"),
    "outcome": ("结论", "Outcome"),
    "dimension": ("准入维度", "Dimension"),
    "message": ("内容", "Message"),
    "citation": ("依据", "Citation"),
    "reasons": ("待补充", "Missing"),
    "hits": ("叠加结果", "Overlaps"),
    "role": ("图层", "Layer"),
    "feature": ("要素", "Feature"),
    "class": ("类别", "Class"),
    "share": ("占项目比例", "Share of site"),
    "nearest": ("最近距离", "Nearest distances"),
    "distance": ("距离", "Distance"),
    "buffers": ("缓冲区内要素", "Features within buffer rings"),
    "ring": ("缓冲半径", "Ring"),
    "layers": ("图层与版本", "Layers and vintages"),
    "vintage": ("版本", "Vintage"),
    "status": ("状态", "Status"),
    "synthetic": ("合成", "Synthetic"),
    "rule_pack": ("规则包", "Rule pack"),
    "inputs": ("项目属性", "Project attributes"),
    "warnings": ("提示", "Warnings"),
    "figure": ("项目位置示意图（无底图）", "Site map (no basemap)"),
    "carbon": ("森林碳储量与碳汇", "Forest carbon"),
    "none": ("无", "none"),
    "no_rules_fired": ("未触发限制性规则", "no restrictive rule fired"),
    "synthetic_notice": ("注意：本报告使用了合成示例图层和/或示例规则包，仅供演示，不代表南平市官方成果。",
                         "Notice: this report uses SYNTHETIC sample layers and/or a sample rule pack, for "
                         "demonstration only; they are not Nanping's official data."),
    "disclaimer": ("免责声明：本筛查结果是基于所列图层和规则的辅助分析，不构成行政审批或许可，最终以生态环境主管部门审查意见为准。",
                   "Disclaimer: this screening is an aid based on the listed layers and rules. It is not an "
                   "approval or permit; the competent authority's review decides."),
    "generated_by": ("由 zoning 生成", "Generated by zoning"),
    "error": ("无法筛查", "Could not screen"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


def pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """The English or Chinese half of a ``key: (zh, en)`` label table."""
    zh, en = table[key]
    return en if lang == "en" else zh


def t(key: str, lang: str) -> str:
    return pick(T, key, lang)


def outcome_label(outcome: str | None, lang: str) -> str:
    if outcome is None:
        return t("error", lang)
    return OUTCOME_EN[outcome] if lang == "en" else OUTCOME_ZH[outcome]


def role_label(role: str, lang: str) -> str:
    return role_name(role, lang)


def line_label(line: str, lang: str) -> str:
    return LINE_EN.get(line, line) if lang == "en" else line


def dimension_label(dim: str, lang: str) -> str:
    return DIMENSION_EN.get(dim, dim) if lang == "en" else dim


def fmt_m(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:,.2f} km" if value >= 10_000 else f"{value:,.0f} m"


def fmt_area(m2: float | None) -> str:
    """An area in m², ha and 亩 (1 亩 = 10000/15 m²), e.g. ``97,173 m² (9.7173 ha, 145.76 亩)``."""
    if m2 is None:
        return "—"
    value = f"{m2:,.0f}" if m2 >= 100 else f"{m2:,.2f}"
    return f"{value} m² ({m2 / 1e4:,.4f} ha, {m2 / MU_M2:,.2f} 亩)"


def fmt_length(m: float | None) -> str:
    """A length in metres (km from 10 km), e.g. ``1,234.5 m``."""
    if m is None:
        return "—"
    return f"{m / 1000:,.3f} km" if m >= 10_000 else f"{m:,.1f} m"


def cjk_font() -> str | None:
    """The first installed font that has Chinese glyphs (matplotlib pictures), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei",
                 "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN"):
        if name in names:
            return name
    return None


def plot_rc(lang: str) -> tuple[dict, str]:
    """(matplotlib rc settings, the language a picture can be drawn in): Chinese needs a CJK font,
    else the picture falls back to English rather than showing empty boxes."""
    font = cjk_font()  # also for English labels: ids and names in the data may be Chinese
    if font is None:
        return {}, "en"
    return ({"font.sans-serif": [font, "DejaVu Sans"], "font.family": "sans-serif", "axes.unicode_minus": False},
            "en" if lang == "en" else "zh")
