"""Project attributes: canonical names, parsing, validation and derived flags.

Attributes come from ``-a KEY=VALUE`` on the command line or from a site file's columns.
Missing values stay missing (``None``): rules that need them answer ``needs_info``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import yaml

from zoning.errors import AttributeProblem

#: canonical attribute -> (type, Chinese name, unit or note)
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "name": ("text", "项目名称", ""),
    "industry": ("industry", "国民经济行业代码（GB/T 4754-2017）", "e.g. C2614"),
    "two_high": ("bool", "是否“两高”项目", "true/false"),
    "chemical": ("bool", "是否化工项目", "true/false"),
    "boiler_th": ("number", "锅炉容量", "蒸吨/小时 (t/h)"),
    "boiler_fuel": ("fuel", "锅炉燃料", "coal/gas/oil/biomass/electric/none"),
    "energy_tce": ("number", "年综合能耗", "吨标准煤 (tce/yr)"),
    "renewable_share": ("share", "可再生能源使用比例", "0-1 or %"),
    "clear_share": ("share", "占地范围内植被清除比例", "0-1 or %"),
}
#: column headers reviewers actually use -> canonical attribute
ALIASES = {
    "项目名称": "name", "名称": "name", "行业代码": "industry", "行业类别代码": "industry", "国民经济行业代码": "industry",
    "是否两高": "two_high", "两高": "two_high", "是否化工": "chemical", "化工": "chemical",
    "锅炉蒸吨": "boiler_th", "锅炉容量": "boiler_th", "锅炉规模": "boiler_th", "锅炉燃料": "boiler_fuel",
    "年综合能耗": "energy_tce", "综合能耗": "energy_tce", "可再生能源比例": "renewable_share",
    "植被清除比例": "clear_share", "清除比例": "clear_share",
}
FUELS = {
    "coal": "coal", "燃煤": "coal", "煤": "coal", "煤炭": "coal",
    "gas": "gas", "natural_gas": "gas", "天然气": "gas", "燃气": "gas", "lng": "gas",
    "oil": "oil", "燃油": "oil", "油": "oil", "heavy_oil": "oil", "重油": "oil",
    "biomass": "biomass", "生物质": "biomass",
    "electric": "electric", "电": "electric", "电力": "electric",
    "none": "none", "无": "none",
}
TRUE = {"true", "1", "yes", "y", "是", "t"}
FALSE = {"false", "0", "no", "n", "否", "f"}
INDUSTRY_RE = re.compile(r"^([A-T])(\d{2})(\d{1,2})?$")


@lru_cache(maxsize=1)
def industry_table() -> dict:
    text = resources.files("zoning.data").joinpath("gbt4754_2017.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class IndustryCode:
    code: str
    known: bool
    name: str | None
    note: str


def check_industry(code: str) -> IndustryCode:
    """Validate a GB/T 4754-2017 code such as ``C2614`` (section letter + 2-4 digits)."""
    raw = str(code).strip().upper()
    m = INDUSTRY_RE.match(raw)
    if not m:
        raise AttributeProblem(
            f"行业代码 {code!r} 格式不正确：应为门类字母加 2-4 位数字，如 C2614",
            f"industry code {code!r} is malformed: expected a section letter and 2-4 digits, e.g. C2614")
    table = industry_table()
    section, division, rest = m.group(1), m.group(2), m.group(3) or ""
    lo, hi = table["sections"][section]
    if division not in table["divisions"] or not lo <= int(division) <= hi:
        return IndustryCode(raw, False, None, f"大类 {division} 不属于门类 {section} / division {division} "
                                                f"is not in section {section} of GB/T 4754-2017")
    if len(rest) == 2:
        cls = division + rest
        if cls in table["classes"]:
            return IndustryCode(raw, True, table["classes"][cls], "")
        if division in table["complete_divisions"]:
            return IndustryCode(raw, False, None, f"小类 {cls} 不在 GB/T 4754-2017 中 / class {cls} is not in "
                                                  f"GB/T 4754-2017")
        return IndustryCode(raw, True, table["divisions"][division],
                            f"小类未逐一核对，仅核对到大类 {division} / class checked to division {division} only")
    return IndustryCode(raw, True, table["divisions"][division], "")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and value.strip() in ("", "nan", "NaN", "None", "null", "-"))


def parse_value(key: str, value: Any) -> Any:
    """Parse one attribute value to its canonical type; raises AttributeProblem when invalid."""
    if key not in ATTRIBUTES:
        raise AttributeProblem(f"未知属性 {key!r}；可用属性：{', '.join(ATTRIBUTES)}",
                               f"unknown attribute {key!r}; known attributes: {', '.join(ATTRIBUTES)}")
    if _is_missing(value):
        return None
    kind = ATTRIBUTES[key][0]
    text = str(value).strip()
    if kind == "text":
        return text
    if kind == "industry":
        return check_industry(text).code
    if kind == "bool":
        if isinstance(value, bool):
            return value
        low = text.lower()
        if low in TRUE or low in ("1.0",):
            return True
        if low in FALSE or low in ("0.0",):
            return False
        raise AttributeProblem(f"属性 {key} 应为 是/否（true/false），而不是 {text!r}",
                               f"attribute {key} must be true/false, not {text!r}")
    if kind == "fuel":
        fuel = FUELS.get(text.lower())
        if fuel is None:
            raise AttributeProblem(f"未知锅炉燃料 {text!r}；可选 coal/gas/oil/biomass/electric/none",
                                   f"unknown boiler fuel {text!r}; use coal/gas/oil/biomass/electric/none")
        return fuel
    pct = text.endswith("%")
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise AttributeProblem(f"属性 {key} 应为数字，而不是 {text!r}", f"attribute {key} must be a number, not {text!r}") from None
    if kind == "share":
        if pct or number > 1:
            number /= 100.0
        if not 0 <= number <= 1:
            raise AttributeProblem(f"属性 {key} 应在 0-1（或 0-100%）之间：{text}",
                                   f"attribute {key} must be between 0 and 1 (or 0-100 %): {text}")
        return number
    if number < 0 or not math.isfinite(number):
        raise AttributeProblem(f"属性 {key} 不能为负数或无穷：{text}", f"attribute {key} must be a finite number >= 0: {text}")
    return number


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["industry=C2614", "boiler_th=8"]`` -> parsed dict; refuses unknown keys."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise AttributeProblem(f"属性应写成 KEY=VALUE：{pair!r}", f"attributes are KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        key = key.strip()
        out[key] = parse_value(key, value)
    return out


def from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical attributes found among a site's columns (other columns are ignored).

    Chinese headers such as 行业代码 or 是否两高 count as their canonical names; a canonical
    column wins over an alias when a file has both.
    """
    out = {ALIASES[k]: parse_value(ALIASES[k], v) for k, v in record.items() if k in ALIASES}
    out.update({key: parse_value(key, record[key]) for key in ATTRIBUTES if key in record})
    return out


def derived(attrs: Mapping[str, Any], *, footprint_ha: float) -> dict[str, Any]:
    """Flags the rules use, each computed from stated attributes only (missing stays missing).

    - ``is_two_high`` / ``is_chemical``: the stated flag; else what the industry code implies.
    - ``industry_known``: whether the code is in GB/T 4754-2017 (False -> rules needing it ask).
    - ``footprint_ha`` (ha) and ``cleared_ha`` = footprint x clear_share (ha).
    """
    table = industry_table()
    industry = attrs.get("industry")
    info = check_industry(industry) if industry else None
    known_code = info.code if info and info.known else None

    def implied(prefixes):
        return None if known_code is None else any(known_code.startswith(p) for p in prefixes)

    two_high = attrs.get("two_high")
    chemical = attrs.get("chemical")
    clear = attrs.get("clear_share")
    return {
        "industry_code": known_code,
        "industry_known": None if info is None else info.known,
        "industry_name": info.name if info else None,
        "industry_note": info.note if info else None,
        "is_two_high": two_high if two_high is not None else implied(table["two_high_prefixes"]),
        "is_chemical": chemical if chemical is not None else implied(table["chemical_prefixes"]),
        "footprint_ha": footprint_ha,
        "cleared_ha": None if clear is None else footprint_ha * clear,
    }
