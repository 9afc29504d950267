"""Project attributes: canonical names, parsing, validation and derived flags.

Attributes come from ``-a KEY=VALUE`` on the command line, from a mapping (Python API) or from
a site file's columns. Missing values stay missing (``None``): rules that need them answer
``needs_info``. Every value is unambiguous or refused:

- numbers must be finite and >= 0 (``nan``, ``inf`` and ``-1`` are refused);
- shares (0-1) are written ``0.35`` or ``35%``; a bare number above 1 is refused with a hint
  (``1.5`` could mean 150 % or 1.5 %: write ``1.5%``); ``1`` is 100 %;
- industry codes are GB/T 4754-2017 codes: a section letter and 2-4 digits (``C2614``), or the
  digits alone (the letter follows from the division). Several codes per project are accepted
  (``C2614,C2662``, or a 主行业 column plus 其他行业 columns): each is screened.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

import yaml

from zoning.errors import AttributeProblem
from zoning.vocabulary import INDUSTRY_LEVELS

#: canonical attribute -> (type, Chinese name, unit or note)
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "name": ("text", "项目名称", ""),
    "industry": ("industry", "国民经济行业代码（GB/T 4754-2017，可填多个）", "e.g. C2614 or C2614,C2662"),
    "two_high": ("bool", "是否“两高”项目", "true/false"),
    "chemical": ("bool", "是否化工项目", "true/false"),
    "boiler_th": ("number", "锅炉容量", "蒸吨/小时 (t/h)"),
    "boiler_fuel": ("fuel", "锅炉燃料", "coal/gas/oil/biomass/electric/none"),
    "energy_tce": ("number", "年综合能耗", "吨标准煤 (tce/yr)"),
    "renewable_share": ("share", "可再生能源使用比例", "0-1 or %, e.g. 0.35 or 35%"),
    "clear_share": ("share", "占地范围内植被清除比例", "0-1 or %, e.g. 0.35 or 35%"),
}
#: column headers reviewers actually use -> canonical attribute. Every header that maps to
#: ``industry`` adds its codes to the project's list (主行业 + 其他行业 = several codes).
ALIASES = {
    "项目名称": "name", "名称": "name", "行业代码": "industry", "行业类别代码": "industry", "国民经济行业代码": "industry",
    "主行业": "industry", "主行业代码": "industry", "其他行业": "industry", "其他行业代码": "industry",
    "次要行业": "industry", "次要行业代码": "industry", "industry_other": "industry", "industry2": "industry",
    "industries": "industry",
    "是否两高": "two_high", "两高": "two_high", "是否化工": "chemical", "化工": "chemical",
    "锅炉蒸吨": "boiler_th", "锅炉容量": "boiler_th", "锅炉规模": "boiler_th", "锅炉燃料": "boiler_fuel",
    "年综合能耗": "energy_tce", "综合能耗": "energy_tce", "可再生能源比例": "renewable_share",
    "植被清除比例": "clear_share", "清除比例": "clear_share",
}
#: numbered industry columns (industry_2, 其他行业代码2 …) also add codes to ``industry``
INDUSTRY_KEY_RE = re.compile(r"^(industry|industry_other|行业代码|主行业代码|其他行业代码|其他行业|次要行业代码)[ _-]?\d{1,2}$")
FUELS = {
    "coal": "coal", "燃煤": "coal", "煤": "coal", "煤炭": "coal",
    "gas": "gas", "natural_gas": "gas", "天然气": "gas", "燃气": "gas", "lng": "gas",
    "oil": "oil", "燃油": "oil", "油": "oil", "heavy_oil": "oil", "重油": "oil",
    "biomass": "biomass", "生物质": "biomass",
    "electric": "electric", "电": "electric", "电力": "electric",
    "none": "none", "无": "none", "无锅炉": "none", "没有锅炉": "none", "no boiler": "none", "no_boiler": "none",
}
TRUE = {"true", "1", "1.0", "yes", "y", "是", "t"}
FALSE = {"false", "0", "0.0", "no", "n", "否", "f"}
#: a section letter alone, or an optional section letter and 2-4 digits
INDUSTRY_RE = re.compile(r"^([A-T])$|^([A-T])?(\d{2})(\d{1,2})?$")
#: separators between several industry codes in one value
INDUSTRY_SEP = re.compile(r"[,，;；、/|+\s]+")
LEVELS = {1: "section", 2: "division", 3: "group", 4: "class"}


# ------------------------------------------------------------------------------------------
# GB/T 4754-2017
@lru_cache(maxsize=1)
def industry_table() -> dict:
    """The bundled GB/T 4754-2017 table (zoning/data/gbt4754_2017.yaml), as loaded."""
    text = resources.files("zoning.data").joinpath("gbt4754_2017.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class _Index:
    section_of: dict[str, str]  # division -> section letter
    names: dict[str, str]  # full code (letter + digits) -> name, every level
    classes: tuple[str, ...]  # every class, full code, sorted
    under: dict[str, tuple[str, ...]]  # full code of any level -> the classes under it
    two_high: frozenset[str]  # classes that are "两高"
    chemical: frozenset[str]  # classes that are chemical projects


def _expand(prefixes: Iterable[str], classes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(c for c in classes if any(c.startswith(p) for p in prefixes))


@lru_cache(maxsize=1)
def industry_index() -> _Index:
    t = industry_table()
    section_of: dict[str, str] = {}
    names: dict[str, str] = {}
    for letter, spec in t["sections"].items():
        lo, hi = (int(x) for x in spec["divisions"])
        names[letter] = spec["name"]
        for div in t["divisions"]:
            if lo <= int(div) <= hi:
                section_of[div] = letter
    for level in ("divisions", "groups", "classes"):
        for digits, name in t[level].items():
            names[section_of[digits[:2]] + digits] = name
    classes = tuple(sorted(section_of[c[:2]] + c for c in t["classes"]))
    under: dict[str, list[str]] = {}
    for c in classes:
        for key in (c[0], c[:3], c[:4], c):
            under.setdefault(key, []).append(c)
    return _Index(section_of, names, classes, {k: tuple(v) for k, v in under.items()},
                  _expand(t["two_high_prefixes"], classes), _expand(t["chemical_prefixes"], classes))


@dataclass(frozen=True)
class IndustryCode:
    code: str  #: canonical: section letter + digits (as given when unknown)
    known: bool  #: the code exists in GB/T 4754-2017
    name: str | None
    note: str  #: why it is unknown, or which level it is (empty for a class)
    level: str = "class"  #: section | division | group | class
    classes: tuple[str, ...] = ()  #: the classes (full codes) the code covers; () when unknown

    @property
    def is_class(self) -> bool:
        return self.known and self.level == "class"


def _malformed(code: Any) -> AttributeProblem:
    return AttributeProblem(
        f"行业代码 {code!r} 格式不正确：应为门类字母加 2-4 位数字（GB/T 4754-2017），如 C2614，或标准中的行业名称，"
        f"如 水泥制造",
        f"industry code {code!r} is malformed: expected a GB/T 4754-2017 code, a section letter and 2-4 "
        f"digits, e.g. C2614, or a name of the standard as written, e.g. 水泥制造")


def check_industry(code: Any) -> IndustryCode:
    """Validate one GB/T 4754-2017 code (``C2614``, ``C261``, ``C26``, ``C`` or ``2614``).

    Raises AttributeProblem when the code is malformed; a well-formed code absent from the
    standard comes back with ``known=False`` and a note naming it.
    """
    info = _check_industry(str(code).strip().upper())
    if info is None:
        named = code_of_industry_name(str(code).strip())
        if named is None:
            raise _malformed(code)
        info = _check_industry(named)
    return info


@lru_cache(maxsize=1)
def _codes_by_name() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for full, name in industry_index().names.items():
        out.setdefault(name, []).append(full)
    return {name: tuple(codes) for name, codes in out.items()}


def code_of_industry_name(name: str) -> str | None:
    """The code of a GB/T 4754-2017 name given as it is written (``水泥制造`` -> ``C3011``): the most
    specific level when a division, group and class share the name; None for no such name.
    Raises AttributeProblem when two codes of the same level bear it."""
    codes = _codes_by_name().get(name)
    if not codes:
        return None
    deepest = max(len(c) for c in codes)
    best = [c for c in codes if len(c) == deepest]
    if len(best) > 1:
        raise AttributeProblem(f"行业名称 {name!r} 对应多个代码（{'、'.join(best)}），请填写代码",
                               f"industry name {name!r} stands for several codes ({', '.join(best)}): give the code")
    return best[0]


@lru_cache(maxsize=4096)
def _check_industry(raw: str) -> IndustryCode | None:
    m = INDUSTRY_RE.match(raw)
    if not m:
        return None
    idx = industry_index()
    if m.group(1):  # a section letter alone
        letter = m.group(1)
        return IndustryCode(letter, True, idx.names[letter], f"{letter} 为门类 / {letter} is a section",
                            "section", idx.under[letter])
    letter, digits = m.group(2), m.group(3) + (m.group(4) or "")
    home = idx.section_of.get(digits[:2])
    if home is None:
        shown = (letter or "") + digits
        return IndustryCode(shown, False, None, f"行业代码 {shown} 不在 GB/T 4754-2017 中（无大类 {digits[:2]}）/ "
                                                f"industry code {shown} is not in GB/T 4754-2017 (no division "
                                                f"{digits[:2]})", LEVELS[len(digits)])
    if letter and letter != home:
        shown = letter + digits
        return IndustryCode(shown, False, None, f"行业代码 {shown}：大类 {digits[:2]} 属于门类 {home}，不属于 {letter} / "
                                                f"industry code {shown}: division {digits[:2]} belongs to section "
                                                f"{home}, not {letter}", LEVELS[len(digits)])
    full = home + digits
    level = LEVELS[len(digits)]
    if full not in idx.names:
        return IndustryCode(full, False, None, f"行业代码 {full} 不在 GB/T 4754-2017 中 / industry code {full} is "
                                               f"not in GB/T 4754-2017", level)
    covered = idx.under[full]
    note = "" if level == "class" else (f"{full} 为{INDUSTRY_LEVELS[level][0]}，含 {len(covered)} 个小类 / {full} is a {level} "
                                        f"of {len(covered)} classes")
    return IndustryCode(full, True, idx.names[full], note, level, covered)


def split_industry(value: Any) -> list[str]:
    """The codes of one industry value: ``"C2614, C2662"`` -> ``["C2614", "C2662"]``."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in split_industry(v)]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # a code read from a numeric column
    text = str(value).strip()
    if text in _codes_by_name():  # a name with a separator in it (水泥、石灰和石膏制造) is one name
        return [text]
    return [p for p in INDUSTRY_SEP.split(text) if p]


def industry_codes(value: Any) -> list[IndustryCode]:
    """Every code of an industry value, checked, in order, without repeats."""
    out: dict[str, IndustryCode] = {}
    for part in split_industry(value):
        info = check_industry(part)
        out.setdefault(info.code, info)
    return list(out.values())


def stricter(stated: bool | None, implied: bool | None) -> bool | None:
    """A "两高"/chemical flag from a statement and what the industry codes imply: True when either
    says so (a code that is such is not undone by declaring otherwise), else the statement, else
    the implication (None: undecided)."""
    if stated is True or implied is True:
        return True
    return stated if stated is not None else implied


def class_flags(cls: str) -> tuple[bool, bool]:
    """(is "两高", is chemical) for one class code such as ``C2614``."""
    idx = industry_index()
    return cls in idx.two_high, cls in idx.chemical


def implied_flag(codes: list[IndustryCode], which: str) -> tuple[bool | None, dict[bool, list[str]]]:
    """What the industry codes say about ``two_high`` or ``chemical``.

    True when some code is wholly such (every class under it); False when every class of every
    code is not; otherwise None, with the classes on each side (partial knowledge never helps:
    a division that mixes both does not decide).
    """
    idx = industry_index()
    members = idx.two_high if which == "two_high" else idx.chemical
    if not codes:
        return None, {}
    sides: dict[bool, list[str]] = {True: [], False: []}
    whole_true = False
    for c in codes:
        if not c.known:
            return None, {}
        flags = [cls in members for cls in c.classes]
        whole_true |= all(flags)
        for cls, f in zip(c.classes, flags):
            sides[f].append(cls)
    if whole_true:
        return True, {}
    if not sides[True]:
        return False, {}
    return None, sides


# ------------------------------------------------------------------------------------------
# parsing
def _is_missing(value: Any) -> bool:
    """Nothing stated: None, an empty cell (pandas gives NaN or NA), or an empty-looking text.

    The texts ``nan`` and ``inf`` are not "missing": written out, they are refused as numbers.
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() in ("", "None", "null", "NULL", "-", "—")


def canonical_key(key: str) -> str:
    """The canonical attribute name of ``key`` (a canonical name or a header alias)."""
    k = str(key).strip()
    if k in ATTRIBUTES:
        return k
    if k in ALIASES:
        return ALIASES[k]
    if INDUSTRY_KEY_RE.match(k):
        return "industry"
    raise AttributeProblem(f"未知属性 {k!r}；可用属性：{', '.join(ATTRIBUTES)}",
                           f"unknown attribute {k!r}; known attributes: {', '.join(ATTRIBUTES)}")


def _number(key: str, value: Any) -> tuple[float, bool, str]:
    """(number, written as a percentage, text) of a numeric value; refuses text and NaN/inf."""
    if isinstance(value, bool):
        raise AttributeProblem(f"属性 {key} 应为数字，而不是 {value!r}", f"attribute {key} must be a number, not {value!r}")
    text = str(value).strip()
    pct = text.endswith(("%", "％"))
    try:
        number = float(text[:-1] if pct else text)
    except ValueError:
        raise AttributeProblem(f"属性 {key} 应为数字，而不是 {text!r}",
                               f"attribute {key} must be a number, not {text!r}") from None
    if not math.isfinite(number):
        raise AttributeProblem(f"属性 {key} 不能为 NaN 或无穷：{text}",
                               f"attribute {key} must be a finite number, not {text}")
    return number, pct, text


def parse_share(key: str, value: Any) -> float:
    """A share 0-1 from ``0.35`` or ``35%``; a bare number above 1 is refused with a hint."""
    number, pct, text = _number(key, value)
    if pct:
        number /= 100.0
    elif number > 1:
        raise AttributeProblem(
            f"属性 {key} 的值 {text} 有歧义：比例请写 0-1 的小数或带 % 的百分数（如 {number:g}% 或 {number / 100:g}）",
            f"attribute {key} = {text} is ambiguous: write a share as 0-1 or as a percentage "
            f"(write {number:g}% or {number / 100:g})")
    if not 0 <= number <= 1:
        raise AttributeProblem(f"属性 {key} 应在 0-1（或 0-100%）之间：{text}",
                               f"attribute {key} must be between 0 and 1 (or 0-100 %): {text}")
    return number


#: value types whose parsed values are cached (hashable and immutable; the type is part of the
#: key, so ``True`` and ``1`` stay apart)
_CACHEABLE = frozenset({str, int, float, bool, type(None)})


def parse_value(key: str, value: Any) -> Any:
    """Parse one attribute value to its canonical type; raises AttributeProblem when invalid.

    ``key`` is a canonical name or a header alias (行业代码, 锅炉容量 …). A batch repeats the
    same few values in every row: those are parsed once (the parsed values are immutable).
    """
    if type(value) in _CACHEABLE and isinstance(key, str):
        return _parse_value_cached(key, value)
    return _parse_value(key, value)


@lru_cache(maxsize=4096, typed=True)
def _parse_value_cached(key: str, value: Any) -> Any:
    return _parse_value(key, value)


def _parse_value(key: str, value: Any) -> Any:
    key = canonical_key(key)
    if _is_missing(value):
        return None
    kind = ATTRIBUTES[key][0]
    text = str(value).strip()
    if kind == "text":
        return text
    if kind == "industry":
        codes = industry_codes(value)
        return ",".join(c.code for c in codes) if codes else None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        low = text.lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise AttributeProblem(f"属性 {key} 应为 是/否（true/false），而不是 {text!r}",
                               f"attribute {key} must be true/false, not {text!r}")
    if kind == "fuel":
        fuel = FUELS.get(text.lower())
        if fuel is None:
            raise AttributeProblem(f"未知锅炉燃料 {text!r}；可选 coal/gas/oil/biomass/electric/none",
                                   f"unknown boiler fuel {text!r}; use coal/gas/oil/biomass/electric/none")
        return fuel
    if kind == "share":
        return parse_share(key, value)
    number, pct, text = _number(key, value)
    if pct:
        raise AttributeProblem(f"属性 {key} 应为数值（{ATTRIBUTES[key][2]}），不是百分数：{text}",
                               f"attribute {key} is a quantity ({ATTRIBUTES[key][2]}), not a percentage: {text}")
    if number < 0:
        raise AttributeProblem(f"属性 {key} 不能为负数：{text}", f"attribute {key} must be >= 0: {text}")
    return number


def _merge_industry(old: str | None, new: str | None) -> str | None:
    if old is None or new is None:
        return old if new is None else new
    return ",".join(dict.fromkeys(split_industry(old) + split_industry(new)))


def parse_mapping(mapping: Mapping[str, Any] | None, *, ignore_unknown: bool = False,
                  given: bool = False) -> dict[str, Any]:
    """Canonical, parsed attributes from a mapping whose keys are canonical names or aliases.

    Every key that means ``industry`` adds its codes (主行业 + 其他行业); for the other
    attributes a canonical key wins over an alias. Unknown keys are refused (or ignored).
    ``given``: the mapping was written by the caller (``attributes=`` of ``zoning.screen``), not read
    from a table: a NaN there is a mistake, refused like the CLI refuses ``nan`` (in a table an
    empty cell reads as NaN and means "not known").
    """
    for key, value in (mapping or {}).items() if given else ():
        if isinstance(value, float) and value != value:
            raise AttributeProblem(f"属性 {key} 的值为 NaN；未知的属性请不要填写",
                                   f"attribute {key} is NaN; leave an unknown attribute out")
    canonical: dict[str, Any] = {}
    aliased: dict[str, Any] = {}
    industry: list[str | None] = []
    for key, value in (mapping or {}).items():
        try:
            name = canonical_key(key)
        except AttributeProblem:
            if ignore_unknown:
                continue
            raise
        parsed = parse_value(name, value)
        if name == "industry":  # the canonical column first (the main industry), then the others
            industry.insert(0, parsed) if str(key).strip() == name else industry.append(parsed)
        elif str(key).strip() == name:
            canonical[name] = parsed
        else:
            aliased.setdefault(name, parsed)
    out = {**aliased, **canonical}
    if industry:
        merged = None
        for part in industry:
            merged = _merge_industry(merged, part)
        out["industry"] = merged
    return out


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["industry=C2614", "boiler_th=8"]`` -> parsed dict; refuses unknown keys.

    Repeating ``industry`` (or giving 主行业 and 其他行业) adds codes; other keys: the last wins.
    """
    out: dict[str, Any] = {}
    main: list[str | None] = []
    other: list[str | None] = []
    for pair in pairs:
        if "=" not in pair:
            raise AttributeProblem(f"属性应写成 KEY=VALUE：{pair!r}", f"attributes are KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        name = canonical_key(key)
        parsed = parse_value(name, value)
        if name == "industry":  # the main industry first, then the others
            (main if key.strip() == name else other).append(parsed)
        else:
            out[name] = parsed
    merged = None
    for part in main + other:
        merged = _merge_industry(merged, part)
    if main or other:
        out["industry"] = merged
    return out


def from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical attributes found among a site's columns (other columns are ignored).

    Chinese headers such as 行业代码 or 是否两高 count as their canonical names; a canonical
    column wins over an alias when a file has both; 主行业 and 其他行业 columns add up.
    """
    return parse_mapping({k: record[k] for k in attribute_keys(record)})


def attribute_keys(record: Mapping[str, Any]) -> list[str]:
    """The keys of ``record`` that name an attribute (canonical, alias, numbered industry column)."""
    return [k for k in record if isinstance(k, str) and (k in ATTRIBUTES or k in ALIASES or INDUSTRY_KEY_RE.match(k))]


# ------------------------------------------------------------------------------------------
# derived flags
def derived(attrs: Mapping[str, Any], *, footprint_ha: float) -> dict[str, Any]:
    """Flags the rules use, each computed from stated attributes only (missing stays missing).

    - ``industry_codes``: every declared code (canonical); ``industry_code``: the first one
      that is in GB/T 4754-2017 (the 主行业); ``industry_known``: all of them are.
    - ``is_two_high`` / ``is_chemical``: the stated flag; else what the codes imply, decided
      only when every class under every code agrees (see :func:`implied_flag`).
    - ``footprint_ha`` (ha) and ``cleared_ha`` = footprint x clear_share (ha).
    """
    clear = attrs.get("clear_share")
    return {**derived_from_attributes(attrs), "footprint_ha": footprint_ha,
            "cleared_ha": None if clear is None else footprint_ha * clear}


def derived_from_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The flags of :func:`derived` that the attributes alone settle (all but the footprint figures)."""
    codes = industry_codes(attrs.get("industry"))
    known = [c for c in codes if c.known]
    notes = [c.note for c in codes if c.note]
    two_high, chemical = attrs.get("two_high"), attrs.get("chemical")
    implied_th, sides_th = implied_flag(codes, "two_high")
    implied_ch, sides_ch = implied_flag(codes, "chemical")
    if two_high is None and sides_th:
        notes.append(_sides_note("两高", "two-high", sides_th))
    if chemical is None and sides_ch:
        notes.append(_sides_note("化工", "chemical", sides_ch))
    # a statement that the codes contradict toward leniency does not decide (a wrong 符合 is the
    # worst answer): the stricter reading stands, and the contradiction is said
    for stated, implied, zh, en in ((two_high, implied_th, "两高", "two-high"), (chemical, implied_ch, "化工", "chemical")):
        if stated is False and implied is True:
            notes.append(f"申报为非{zh}项目，但行业代码 {'、'.join(c.code for c in known)} 属于{zh}行业：按{zh}项目判断 / "
                         f"declared not {en}, but the industry code {', '.join(c.code for c in known)} is a {en} "
                         f"industry: judged as {en}")
    return {
        "industry_codes": [c.code for c in codes],
        "industry_code": known[0].code if known else None,
        "industry_known": None if not codes else all(c.known for c in codes),
        "industry_name": "；".join(f"{c.code} {c.name}" if len(codes) > 1 else c.name for c in known) or None,
        "industry_note": "；".join(notes) or None,
        "is_two_high": stricter(two_high, implied_th),
        "is_chemical": stricter(chemical, implied_ch),
    }


def list_codes(codes: list[str], lang: str = "zh", limit: int = 12) -> str:
    """``C2612、C2614`` (at most ``limit`` codes, then how many there are in all)."""
    sep = ", " if lang == "en" else "、"
    shown = sep.join(codes[:limit])
    if len(codes) <= limit:
        return shown
    return shown + (f" … ({len(codes)} in all)" if lang == "en" else f" 等 {len(codes)} 个")


def _sides_note(zh: str, en: str, sides: dict[bool, list[str]]) -> str:
    attr = "two_high" if en == "two-high" else "chemical"
    return (f"所含小类中 {list_codes(sides[True])} 属于“{zh}”，{list_codes(sides[False])} 不属于，无法据行业代码判断"
            f"（请给出小类代码或 {attr} 属性）/ of its classes {list_codes(sides[True], 'en')} are {en} and "
            f"{list_codes(sides[False], 'en')} are not: give the class code or the {attr} attribute")
