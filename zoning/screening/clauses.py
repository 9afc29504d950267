"""Access lists as clauses (生态环境准入清单, 一单元一清单) and the drafted review opinion.

A clause library (YAML, versioned, named by the catalog's ``clauses:``) holds numbered clauses
at four tiers: province- and city-wide general requirements (optionally per unit class),
county-wide ones (``county_code``) and each unit's own (``unit_code``), each in one of the four
dimensions. A clause may name the rule that implements it (``rule``). At a site, every control
unit the site touches quotes its applicable clauses, each with a status:

- decided by its rule: ``violates`` / ``conditional`` / ``complies`` from the rule's outcome, or
  ``complies`` when the rule was evaluated and did not fire;
- ``manual`` (需人工核查): no rule decides it, or its rule could not be decided
  (needs_info) — a checklist for the reviewer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from zoning.errors import ClauseLibraryError
from zoning.io.inputs import load_yaml, mapping_entries, read_text
from zoning.vocabulary import (CLAUSE_STATUS_EN, CLAUSE_TIER_EN, CLAUSE_STATUS_ZH, CLAUSE_TIERS, DIMENSION_EN, DIMENSIONS,
                               OUTCOME_CLAUSE_STATUS, OUTCOME_EN, OUTCOME_ZH, UNIT_CLASS_EN, UNIT_CLASSES,
                               UNIT_TIER, COUNTY_TIER)

#: largest clause library read (bytes): a city's lists are well under 1 MB
MAX_CLAUSE_BYTES = 20 * 1024 * 1024
CLAUSE_KEYS = {"tier", "dimension", "number", "text", "rule", "unit_code", "county_code", "unit_class", "text_en"}
#: clause numbering at the start of a line or after a separator: 1. 1、 （1） (1) ①
_NUM_RE = re.compile(r"(?:^|(?<=[。；;\s]))\s*(?:（\d{1,2}）|\(\d{1,2}\)|\d{1,2}[.、．](?!\d)|[①-⑳])\s*")


@dataclass(frozen=True)
class ClauseLibrary:
    path: Path
    name: str
    version: str
    synthetic: bool
    clauses: tuple[dict, ...]

    def meta(self) -> dict:
        """name, version, synthetic: one dict per library, shared by the opinions made with it."""
        return _library_meta(self.name, self.version, self.synthetic)


@lru_cache(maxsize=64)
def _library_meta(name: str, version: str, synthetic: bool) -> dict:
    return {"name": name, "version": version, "synthetic": synthetic}


def split_clauses(text: str) -> list[str]:
    """A requirement text split into its numbered clauses (``1.`` ``1、`` ``（1）`` ``①``); an
    unnumbered text is one clause. Stray line breaks and spaces inside are removed."""
    text = re.sub(r"\s*\n\s*", "", str(text or "")).strip()
    if not text:
        return []
    parts = [p.strip(" ；;") for p in _NUM_RE.split(text)]
    return [p for p in parts if p]


def _bad(path: Path, where: str, zh: str, en: str) -> ClauseLibraryError:
    return ClauseLibraryError(f"条款库 {path.name} {where}：{zh}", f"clause library {path.name} {where}: {en}")


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> ClauseLibrary:
    # UTF-8 or GBK; bounded in size, nesting and alias expansion; one line for every failure
    doc = load_yaml(read_text(path, "条款库", "clause library", error=ClauseLibraryError, max_bytes=MAX_CLAUSE_BYTES),
                    path.name, error=ClauseLibraryError)
    out = []
    for i, where, c in mapping_entries(doc, "clauses", CLAUSE_KEYS, lambda w, zh, en: _bad(path, w, zh, en)):
        if c.get("tier") not in CLAUSE_TIERS:
            raise _bad(path, where, f"tier 应为 {'/'.join(CLAUSE_TIERS)}", f"tier must be one of {CLAUSE_TIERS}")
        if c.get("dimension") not in DIMENSIONS:
            raise _bad(path, where, f"dimension 应为 {'/'.join(DIMENSIONS)}", f"dimension must be one of {DIMENSIONS}")
        if not str(c.get("text") or "").strip():
            raise _bad(path, where, "缺少条款文本 text", "text is missing")
        if c.get("unit_class") is not None and c["unit_class"] not in UNIT_CLASSES:
            raise _bad(path, where, f"unit_class 应为 {'/'.join(UNIT_CLASSES)}", f"unit_class must be one of "
                       f"{tuple(UNIT_CLASSES)}")
        if c["tier"] == UNIT_TIER and not c.get("unit_code"):
            raise _bad(path, where, "单元条款需要 unit_code", "a unit clause needs unit_code")
        if c["tier"] == COUNTY_TIER and not c.get("county_code"):
            raise _bad(path, where, "县级条款需要 county_code", "a county clause needs county_code")
        out.append({"tier": c["tier"], "dimension": c["dimension"], "number": str(c.get("number") or i),
                    "text": re.sub(r"\s*\n\s*", "", str(c["text"])).strip(), "rule": c.get("rule"),
                    "unit_code": None if c.get("unit_code") is None else str(c["unit_code"]).replace(" ", ""),
                    "county_code": None if c.get("county_code") is None else str(c["county_code"]).strip(),
                    "unit_class": c.get("unit_class")})
    return ClauseLibrary(path, str(doc.get("name") or path.stem), str(doc.get("version") or ""),
                         bool(doc.get("synthetic", False)), tuple(out))


def load_clause_library(path: Path | str) -> ClauseLibrary:
    """Parse and validate a clause library (cached while the file is unchanged)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ClauseLibraryError(f"条款库不存在：{path}", f"clause library not found: {path}")
    return _load(path, path.stat().st_mtime)


def _applies(c: dict, unit: dict) -> bool:
    if c["unit_class"] is not None and c["unit_class"] != unit["class"]:
        return False
    if c["tier"] == UNIT_TIER:
        return c["unit_code"] == unit["code"]
    if c["tier"] == COUNTY_TIER:
        return c["county_code"] == unit["county_code"]
    return True


#: per clause library (by id, kept alive here): its clauses grouped by where they apply
_INDEXES: dict[int, tuple[ClauseLibrary, dict]] = {}


def _clause_index(library: ClauseLibrary) -> dict:
    """Clause positions by unit code (unit tier), by county code (county tier) and the rest,
    with each clause's order key (tier, dimension, position): built once per library."""
    found = _INDEXES.get(id(library))
    if found is not None and found[0] is library:
        return found[1]
    tier_at = {t: i for i, t in enumerate(CLAUSE_TIERS)}
    dim_at = {d: i for i, d in enumerate(DIMENSIONS)}
    index: dict = {"unit": {}, "county": {}, "general": [], "key": []}
    for pos, c in enumerate(library.clauses):
        index["key"].append((tier_at[c["tier"]], dim_at[c["dimension"]], pos))
        if c["tier"] == UNIT_TIER:
            index["unit"].setdefault(c["unit_code"], []).append(pos)
        elif c["tier"] == COUNTY_TIER:
            index["county"].setdefault(c["county_code"], []).append(pos)
        else:
            index["general"].append(pos)
    if len(_INDEXES) > 16:
        _INDEXES.clear()
    _INDEXES[id(library)] = (library, index)
    return index


def _unit_clauses(library: ClauseLibrary, index: dict, unit: dict) -> list[dict]:
    """The clauses that apply to ``unit`` (as :func:`_applies` says), in tier, dimension and
    library order."""
    key = index["key"]
    found = index["unit"].get(unit["code"], []) + index["county"].get(unit["county_code"], []) + index["general"]
    clauses = library.clauses
    mine = [p for p in found if clauses[p]["unit_class"] is None or clauses[p]["unit_class"] == unit["class"]]
    mine.sort(key=key.__getitem__)
    return [clauses[p] for p in mine]


def site_clauses(library: ClauseLibrary | None, units: Iterable[dict], outcomes: dict[str, str],
                 rule_ids: set[str], *, memo: dict | None = None) -> list[dict]:
    """The applicable clauses of every unit the site touches, in tier, dimension and number order.

    ``units``: dicts with code, class, county_code; ``outcomes``: rule id -> outcome of every
    rule that fired or was undecided; ``rule_ids``: every rule of the pack (evaluated).
    ``memo``: a dict kept for one batch (one library and rule pack): sites in the same units with
    the same outcomes then share the very same clause rows (never changed afterwards).
    """
    if library is None:
        return []
    if memo is not None:
        units = list(units)
        key = ("clauses", id(library), tuple((u["code"], u["class"], u["county_code"]) for u in units),
               tuple(sorted(outcomes.items())))
        rows = memo.get(key)
        if rows is None:
            rows = memo[key] = site_clauses(library, units, outcomes, rule_ids)
        return list(rows)
    out = []
    index = _clause_index(library)
    for unit in units:
        mine = _unit_clauses(library, index, unit)
        for c in mine:
            rule = c["rule"]
            if rule and rule in outcomes:
                status = OUTCOME_CLAUSE_STATUS[outcomes[rule]]
            elif rule and rule in rule_ids:
                status = "complies"  # evaluated at this site and it did not fire
            else:
                status, rule = "manual", (rule if rule else None)
            out.append({"unit_code": unit["code"], "tier": c["tier"], "dimension": c["dimension"],
                        "number": c["number"], "text": c["text"], "status": status,
                        "rule_id": rule if status != "manual" or rule in outcomes else None})
    return out


def draft_opinion(*, site_id: str, name: str | None, verdict: str | None, units: list[dict],
                  clauses: list[dict], library: ClauseLibrary | None, synthetic: bool | list[str],
                  rules: list[dict] | None = None, reasons: list[str] | None = None) -> dict:
    """审核意见草稿: a short paragraph (Chinese and English) from the verdict, the units, the decided
    clauses and the manual checks. Always marked as a draft that is not an approval.

    ``rules``: the rules that fired (``id``, ``outcome``, ``title_zh``, ``title_en``); those that
    decide the verdict against the project without implementing a quoted clause (a red line, a
    protected area) are named too, so the paragraph always says why the verdict is what it is.
    ``reasons``: why the verdict is needs_info ("中文 / English" lines): said when it is."""
    who = f"拟建项目“{name}”（{site_id}）" if name else f"拟建项目 {site_id}"
    who_en = f"the project “{name}” ({site_id})" if name else f"the project {site_id}"
    if not units:
        unit_zh, unit_en = "未与任何环境管控单元相交", "touches no environmental control unit"
    else:
        # the class is said once: not again when the unit's name already holds it (…优先保护单元1)
        unit_zh = "位于" + "、".join(
            f"{u['name'] or u['code']}（{u['code']}" + ("" if u["class"] and u["class"] in str(u["name"] or "")
                                                     else f"，{u['class']}单元") + "）" for u in units)
        unit_en = "lies in " + ", ".join(f"{u['name'] or u['code']} ({u['code']}, "
                                         f"{UNIT_CLASS_EN.get(u['class'], u['class'])} unit)" for u in units)
    counts = {s: sum(1 for c in clauses if c["status"] == s) for s in CLAUSE_STATUS_ZH}
    decided = len(clauses) - counts["manual"]
    bad = [c for c in clauses if c["status"] == "violates"]
    cond = [c for c in clauses if c["status"] == "conditional"]
    zh = [f"【审核意见草稿，非审批意见】经对照生态环境分区管控要求，{who}{unit_zh}。"]
    en = [f"[DRAFT review opinion, not an approval] Checked against the environmental zoning controls, "
          f"{who_en} {unit_en}."]
    if clauses:
        zh.append(f"对照适用的准入清单条款 {len(clauses)} 条：规则判定 {decided} 条（{CLAUSE_STATUS_ZH['complies']} "
                  f"{counts['complies']} 条、{CLAUSE_STATUS_ZH['conditional']} {counts['conditional']} 条、"
                  f"{CLAUSE_STATUS_ZH['violates']} {counts['violates']} 条），{CLAUSE_STATUS_ZH['manual']} "
                  f"{counts['manual']} 条。")
        en.append(f"Of the {_n(len(clauses), 'applicable access-list clause')}, {decided} "
                  f"{'is' if decided == 1 else 'are'} decided by rules ({counts['complies']} "
                  f"{'complies' if counts['complies'] == 1 else 'comply'}, {counts['conditional']} conditional, "
                  f"{counts['violates']} {'does' if counts['violates'] == 1 else 'do'} not comply) and "
                  f"{counts['manual']} {'needs' if counts['manual'] == 1 else 'need'} a manual check.")
    elif library is None:
        zh.append("图层目录未配置准入清单条款库，未逐条对照。")
        en.append("The catalog names no clause library: no clause-by-clause check was made.")
    for c in bad[:3]:
        zh.append(f"项目不符合{_where_zh(c)}第 {c['number']} 条：“{c['text'].rstrip('。；;')}”（规则 {c['rule_id']}）。")
        en.append(f"The project does not comply with {_where_en(c)} clause {c['number']} (rule {c['rule_id']}).")
    for c in cond[:3]:
        zh.append(f"项目须落实{_where_zh(c)}第 {c['number']} 条的要求：“{c['text'].rstrip('。；;')}”（规则 {c['rule_id']}）。")
        en.append(f"The conditions of {_where_en(c)} clause {c['number']} must be met (rule {c['rule_id']}).")
    quoted = {c.get("rule_id") for c in bad + cond}
    others = [r for r in rules or () if r["outcome"] in ("prohibited", "conditional") and r["id"] not in quoted]
    others.sort(key=lambda r: r["outcome"] != "prohibited")
    if others:
        zh.append(("此外，" if bad or cond else "经规则判定，") + "；".join(f"{r['title_zh']}（规则 {r['id']}）：{OUTCOME_ZH[r['outcome']]}"
                                      for r in others[:4]) + ("等" if len(others) > 4 else "") + "。")
        en.append(("Further: " if bad or cond else "By rule: ") + "; ".join(f"{r['title_en']} (rule {r['id']}): {OUTCOME_EN[r['outcome']]}"
                                          for r in others[:4]) + (" and more" if len(others) > 4 else "") + ".")
    if verdict == "needs_info" and reasons:
        halves = [r.split(" / ", 1) for r in reasons[:3]]
        zh.append("尚需补充：" + "；".join(h[0].rstrip("。") for h in halves) + ("等" if len(reasons) > 3 else "") + "。")
        en.append("Still needed: " + "; ".join((h[1] if len(h) > 1 else h[0]).rstrip(".") for h in halves)
                  + (" and more" if len(reasons) > 3 else "") + ".")
    if verdict is not None:
        zh.append(f"初步结论：{OUTCOME_ZH[verdict]}。")
        en.append(f"Preliminary conclusion: {OUTCOME_EN[verdict]}.")
    if counts["manual"]:
        zh.append(f"另有 {counts['manual']} 条须由审核人员逐条核查（见核查清单）后方可形成正式意见。")
        en.append(f"The {_n(counts['manual'], 'clause')} not decided by a rule must be checked by the reviewer (see the checklist) "
                  f"before a formal opinion is given.")
    zh.append("本意见为系统自动生成的草稿，不构成审批或许可。")
    en.append("This opinion is a machine-drafted text; it is neither an approval nor a permit.")
    if synthetic:  # True, or the names of the sample parts (合成示例图层, 示例规则包 …)
        parts = "、".join(synthetic) if not isinstance(synthetic, bool) else "合成示例数据"
        zh.append(f"（使用了{parts}，仅供演示。）")
        en.append("(Made with sample data or rules, for demonstration only.)")
    return {"draft": True, "zh": "".join(zh), "en": " ".join(en),
            "clause_library": library.meta() if library is not None else None}


def _n(n: int, noun: str) -> str:
    """"1 clause", "2 clauses"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _where_zh(c: dict) -> str:
    """单元 ZH… 准入清单“空间布局约束” or 市级准入要求“空间布局约束”."""
    if c["tier"] == UNIT_TIER:
        return f"单元 {c['unit_code']} 准入清单“{c['dimension']}”"
    return f"{c['tier']}准入要求“{c['dimension']}”"


def _where_en(c: dict) -> str:
    if c["tier"] == UNIT_TIER:
        return f"the access list of unit {c['unit_code']} ({DIMENSION_EN[c['dimension']]})"
    return f"the {CLAUSE_TIER_EN[c['tier']]}-level requirements ({DIMENSION_EN[c['dimension']]})"


def clause_status_label(status: str, lang: str = "zh") -> str:
    return CLAUSE_STATUS_EN[status] if lang == "en" else CLAUSE_STATUS_ZH[status]
