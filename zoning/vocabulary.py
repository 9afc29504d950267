"""The domain's words, kept once: layer roles, unit classes, protected-area kinds, outcomes,
the four lines and the four access-list dimensions, with their Chinese and English names.

Analysis code names things by the keys and filters defined here; renderers turn keys into
words with :mod:`zoning.render.labels`. Nothing else in the package spells these out.
"""
from __future__ import annotations

from typing import NamedTuple


class Role(NamedTuple):
    """What a catalog layer can be used for."""

    zh: str  #: Chinese name, as printed in reports and tables
    kind: str  #: "vector" or "raster"
    fields: tuple[str, ...]  #: canonical fields the layer must provide
    en: str  #: English name


#: role -> Role. The catalog decides which file plays which role.
ROLES: dict[str, Role] = {
    "admin": Role("县级行政区", "vector", ("code", "name"), "county"),
    "red_line": Role("生态保护红线", "vector", ("id", "name", "type"), "ecological red line"),
    "control_unit": Role("环境管控单元", "vector", ("code", "name", "class", "county_code"), "control unit"),
    "park": Role("工业园区", "vector", ("id", "name", "level", "chemical"), "industrial park"),
    "protected": Role("自然保护地及水源保护区", "vector", ("id", "name", "kind", "grade"),
                      "protected area or water-source zone"),
    "no_burn": Role("高污染燃料禁燃区", "vector", ("id", "name"), "no-burn zone"),
    "forest_carbon": Role("森林碳密度", "raster", (), "forest carbon density"),
    "program": Role("森林质量提升/赎买区域", "vector", ("id", "name", "program"), "forest programme area"),
}

#: things shown beside the roles: parts of a role (a protected-area kind group) and output tables
TOPIC_NAMES: dict[str, tuple[str, str]] = {
    "nature_area": ("自然保护地", "national park and nature reserves"),
    "water_source": ("饮用水水源保护区", "drinking-water source zone"),
    "results": ("筛查结果", "screening results"),
    "carbon_stock": ("碳储量", "carbon stock"),
}

# --- environmental control units ------------------------------------------------------------
PRIORITY, KEY, GENERAL = "优先保护", "重点管控", "一般管控"
#: unit class -> the digit it carries in the unit code and in ZHGKDYFL
UNIT_CLASSES: dict[str, int] = {PRIORITY: 1, KEY: 2, GENERAL: 3}
UNIT_CLASS_EN: dict[str, str] = {PRIORITY: "priority protection", KEY: "key control", GENERAL: "general control"}

# --- protected-area kinds (the ``kind`` field of the ``protected`` role) --------------------
NATIONAL_PARK = "国家公园"
NATURE_RESERVE = "自然保护区"
WATER_SOURCE = "饮用水水源保护区"
#: kinds where the red-line regime applies (自然保护地)
NATURE_AREA_KINDS: tuple[str, ...] = (NATIONAL_PARK, NATURE_RESERVE)
WATER_SOURCE_KINDS: tuple[str, ...] = (WATER_SOURCE,)
#: layer filters in the form LayerSet.projected() takes: ((field, (values, ...)), ...)
NATURE_AREA_FILTER = (("kind", NATURE_AREA_KINDS),)
WATER_SOURCE_FILTER = (("kind", WATER_SOURCE_KINDS),)

# --- outcomes of rules and verdicts ---------------------------------------------------------
OUTCOMES: tuple[str, ...] = ("prohibited", "conditional", "needs_info", "compliant")
#: compliant 0 ... prohibited 3: the verdict is the most severe outcome that fired
SEVERITY: dict[str, int] = {o: i for i, o in enumerate(reversed(OUTCOMES))}
OUTCOME_ZH = {"prohibited": "不符合（禁止）", "conditional": "有条件符合", "needs_info": "需补充信息",
              "compliant": "符合"}
OUTCOME_EN = {"prohibited": "prohibited", "conditional": "conditional", "needs_info": "needs information",
              "compliant": "compliant"}

# --- the three lines and the list, and the list's four dimensions ---------------------------
LINES: tuple[str, ...] = ("生态保护红线", "环境质量底线", "资源利用上线", "生态环境准入清单")
LINE_EN = {"生态保护红线": "ecological red line", "环境质量底线": "environmental quality baseline",
           "资源利用上线": "resource utilisation cap", "生态环境准入清单": "access list"}
DIMENSIONS: tuple[str, ...] = ("空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率")
DIMENSION_EN = {"空间布局约束": "spatial layout", "污染物排放管控": "pollutant discharge",
                "环境风险防控": "environmental risk", "资源利用效率": "resource efficiency"}
#: the line a rule belongs to when its pack does not say
DEFAULT_LINE = {"空间布局约束": "生态环境准入清单", "污染物排放管控": "环境质量底线",
                "环境风险防控": "环境质量底线", "资源利用效率": "资源利用上线"}

# --- layer status in a result ---------------------------------------------------------------
LAYER_STATUS_ZH = {"ok": "正常", "empty": "为空", "failed": "加载失败", "outside": "不覆盖站点", "gap": "站点处缺失"}


def role_name(role: str, lang: str = "zh") -> str:
    """The name of a role or topic in ``lang`` ("zh" or "en"); the key itself when unknown."""
    if role in ROLES:
        return ROLES[role].en if lang == "en" else ROLES[role].zh
    if role in TOPIC_NAMES:
        zh, en = TOPIC_NAMES[role]
        return en if lang == "en" else zh
    return role
