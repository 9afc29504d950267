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
    "registered_carbon": Role("已登记碳汇项目/碳票地块", "vector", ("id", "name", "scheme"),
                              "registered carbon project or carbon-ticket parcel"),
    # element zones of official 三线一单 results (issue 12): listed, checked, drawn, hits reported;
    # no verdict changes from them unless a rule names them
    "water_zone": Role("水环境管控分区", "vector", ("code", "name"), "water environment control zone"),
    "air_zone": Role("大气环境管控分区", "vector", ("code", "name"), "air environment control zone"),
    "eco_zone": Role("生态空间", "vector", ("code", "name"), "ecological space"),
}
#: roles a catalog may leave out without the role being reported as failed
OPTIONAL_ROLES: tuple[str, ...] = ("program", "registered_carbon", "water_zone", "air_zone", "eco_zone")
#: the roles a layer set cannot do without: the counties (its area) and the control units (a red line layer
#: missing is reported too, as a note: its rules stay needs_info, so no site can come out compliant)
CORE_ROLES: tuple[str, ...] = ("admin", "control_unit")

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
OUTCOME_EN = {"prohibited": "prohibited (does not comply)", "conditional": "complies with conditions",
              "needs_info": "needs information",
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

# --- GB/T 4754-2017 industry code levels: key -> (Chinese, English) ---------------------------
INDUSTRY_LEVELS: dict[str, tuple[str, str]] = {"section": ("门类", "section"), "division": ("大类", "division"),
                                               "group": ("中类", "group"), "class": ("小类", "class")}

# --- layer status in a result ---------------------------------------------------------------
LAYER_STATUS_ZH = {"ok": "正常", "empty": "为空", "failed": "加载失败", "outside": "不覆盖站点", "gap": "站点处缺失",
                   "partial": "部分要素无效", "partly_outside": "部分不覆盖站点"}
LAYER_STATUS_EN = {"ok": "ok", "empty": "empty", "failed": "failed (unusable)", "outside": "does not cover the site",
                   "gap": "no feature at the site", "partial": "some features unusable",
                   "partly_outside": "covers only part of the site"}
#: layer statuses under which a hit on a usable feature still counts, but the absence of a hit
#: proves nothing (some features are unusable, or part of the site lies beyond the layer's coverage)
INCOMPLETE_LAYER_STATUSES: tuple[str, ...] = ("partial", "partly_outside")

# --- warnings shown with a result: kind -> (Chinese, English) heading for the batch summary ---
WARNING_KINDS: dict[str, tuple[str, str]] = {
    "coverage": ("站点超出图层覆盖范围", "site outside the layers' coverage"),
    "crs_hint": ("坐标系可能有误", "the CRS may be wrong"),
    "layer": ("图层问题", "layer problems"),
    "no_crs": ("未声明坐标系", "no CRS given"),
    "offset_datum": ("坐标已由偏移坐标系转换", "converted from an offset datum"),
    "crs_override": ("--crs 覆盖了文件坐标系", "--crs overrides the file's CRS"),
    "repair": ("几何已修复", "geometry repaired"),
    "z_dropped": ("已忽略 Z 坐标", "Z coordinates dropped"),
    "columns": ("列的读取", "how the file's columns were read"),
    "counties": ("站点跨越县区", "sites across county boundaries"),
    "industry": ("行业代码", "industry code"),
    "carbon": ("森林碳储量", "forest carbon"),
    "synthetic": ("合成示例数据", "synthetic sample data"),
    "other": ("其他提示", "other warnings"),
}


# --- forest carbon programmes (issue 14) ----------------------------------------------------
#: programme key -> (Chinese, English). The keys name the programmes in stand files and outputs.
QUALITY, BUYBACK = "森林质量精准提升", "商品林赎买"
PROGRAMMES: dict[str, tuple[str, str]] = {
    QUALITY: ("森林质量精准提升", "forest-quality improvement (forest management)"),
    BUYBACK: ("商品林赎买", "buy-back of commercial forest (avoided harvest)"),
}
#: words in a stand file's programme field -> programme key
PROGRAMME_ALIASES: dict[str, str] = {
    "森林质量精准提升": QUALITY, "质量提升": QUALITY, "森林质量提升": QUALITY, "森林经营": QUALITY,
    "quality": QUALITY, "forest management": QUALITY, "ifm": QUALITY,
    "商品林赎买": BUYBACK, "赎买": BUYBACK, "buyback": BUYBACK, "buy-back": BUYBACK, "buy_back": BUYBACK,
}
#: Nanping's main forest types (the keys of the growth-curve table) and the key for the rest
CHINESE_FIR, MASSON_PINE, BROADLEAF, OTHER_FOREST = "杉木", "马尾松", "阔叶林", "其他"
FOREST_TYPES: dict[str, tuple[str, str]] = {
    CHINESE_FIR: ("杉木", "Chinese fir (Cunninghamia lanceolata)"),
    MASSON_PINE: ("马尾松", "Masson pine (Pinus massoniana)"),
    BROADLEAF: ("阔叶林", "broadleaf forest"),
    OTHER_FOREST: ("其他/未注明", "other or unspecified"),
}
#: words in a stand file's forest-type field -> forest type key
FOREST_TYPE_ALIASES: dict[str, str] = {
    "杉木": CHINESE_FIR, "杉木林": CHINESE_FIR, "杉": CHINESE_FIR, "chinese fir": CHINESE_FIR, "fir": CHINESE_FIR,
    "cunninghamia lanceolata": CHINESE_FIR,
    "马尾松": MASSON_PINE, "马尾松林": MASSON_PINE, "松": MASSON_PINE, "masson pine": MASSON_PINE, "pine": MASSON_PINE,
    "pinus massoniana": MASSON_PINE,
    "阔叶林": BROADLEAF, "阔叶": BROADLEAF, "阔叶混交林": BROADLEAF, "常绿阔叶林": BROADLEAF, "硬阔": BROADLEAF,
    "软阔": BROADLEAF, "broadleaf": BROADLEAF, "broadleaved": BROADLEAF, "hardwood": BROADLEAF,
    "其他": OTHER_FOREST, "other": OTHER_FOREST, "mixed": OTHER_FOREST, "针阔混交林": OTHER_FOREST,
}
#: field names a stand file may use, per canonical stand field (first match wins, case-insensitive)
STAND_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("小班号", "小班编号", "小班", "stand_id", "stand", "site_id", "id", "编号", "code"),
    "compartment": ("林班号", "林班", "compartment"),
    "program": ("program", "programme", "项目", "项目类型", "工程", "类型"),
    "forest_type": ("forest_type", "type", "树种", "优势树种", "树种组", "林分类型", "森林类型", "林种"),
    "age": ("age", "林龄", "年龄", "平均年龄", "stand_age"),
    "year": ("year", "实施年度", "实施年份", "年度", "treatment_year"),
    "county": ("county", "县", "县区", "县（市、区）", "县(市、区)", "县名", "区县", "county_name"),
    "county_code": ("county_code", "县代码", "区县代码", "行政区划代码", "xzqdm"),
    "area_ha": ("area_ha", "面积", "面积_ha", "小班面积", "面积（公顷）", "面积(公顷)", "ha"),
    "stock_tC_ha": ("stock_tc_ha", "碳密度", "density_tc_ha"),
}
#: registration schemes of the ``registered_carbon`` role (its ``scheme`` field)
REGISTRATION_SCHEMES: dict[str, tuple[str, str]] = {
    "CCER": ("国家核证自愿减排量（CCER）", "China Certified Emission Reduction"),
    "FFCER": ("福建林业碳汇（FFCER）", "Fujian Forestry Certified Emission Reduction"),
    "林业碳票": ("林业碳票", "forest carbon ticket"),
}


def role_name(role: str, lang: str = "zh") -> str:
    """The name of a role or topic in ``lang`` ("zh" or "en"); the key itself when unknown."""
    if role in ROLES:
        return ROLES[role].en if lang == "en" else ROLES[role].zh
    if role in TOPIC_NAMES:
        zh, en = TOPIC_NAMES[role]
        return en if lang == "en" else zh
    return role


# --- access-list clauses (一单元一清单): tiers and statuses --------------------------------------
PROVINCE_TIER = "省级"
CITY_TIER = "市级"
COUNTY_TIER = "县级"
UNIT_TIER = "单元"
CLAUSE_TIERS: tuple[str, ...] = (PROVINCE_TIER, CITY_TIER, COUNTY_TIER, UNIT_TIER)
CLAUSE_TIER_EN = {PROVINCE_TIER: "province", CITY_TIER: "city", COUNTY_TIER: "county", UNIT_TIER: "unit"}
#: a clause's status at a site: decided by a rule, or left to the reviewer (manual)
CLAUSE_STATUSES: tuple[str, ...] = ("complies", "violates", "conditional", "manual")
CLAUSE_STATUS_ZH = {"complies": "符合", "violates": "不符合", "conditional": "有条件", "manual": "需人工核查"}
CLAUSE_STATUS_EN = {"complies": "complies", "violates": "does not comply", "conditional": "conditional",
                    "manual": "manual check"}
#: the clause status a rule outcome decides (a rule that was evaluated and did not fire: complies)
OUTCOME_CLAUSE_STATUS = {"prohibited": "violates", "conditional": "conditional", "compliant": "complies",
                         "needs_info": "manual"}
