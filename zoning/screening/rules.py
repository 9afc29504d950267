"""Access-list rules as data: loading, validation and three-valued evaluation.

A rule pack (YAML) has ``name``, ``version`` and ``rules``. Each rule:

    id: RL-01
    title: {zh: ..., en: ...}            # optional
    dimension: 空间布局约束               # 空间布局约束 | 污染物排放管控 | 环境风险防控 | 资源利用效率
    line: 生态保护红线                    # the 符合性分析 row; default: 生态环境准入清单 for rules
                                         # scoped to control units (a unit's own list), else
                                         # from the dimension (vocabulary.DEFAULT_LINE)
    citation: 《…》第…条                  # document and section, or the unit's access list
    scope: all | <condition>             # where the rule applies
    when: <condition>                    # optional; default: always (within scope)
    outcome: prohibited | conditional | needs_info | compliant
    message: {zh: ..., en: ...}

Conditions (a mapping with one key; ``all``/``any``/``not`` combine):

    hit: ROLE | {role: ROLE, FIELD: value-or-list, min_share: 0.0}   site overlaps such features
                                                                      (share of the site >= min_share)
    within: {role: ROLE, FIELD: ...}                                  site lies entirely inside one
    near: {role: ROLE, FIELD: ..., within_m: 1000}                    such a feature within N metres (<=)
    attr: {name: ATTR, eq|ne|lt|le|gt|ge|in|not_in|prefix: VALUE, if_missing: unknown|false|true}
    county: {in: [350782, ...]}

Thresholds follow the text they cite (design.md §5): 以上/以下/以内 include the number itself
(``ge``/``le``, ``within_m`` and ``min_share`` are inclusive), 超过/不满 exclude it (``gt``/``lt``).

Every value is validated when the pack is loaded (``zoning rules check`` and ``screen`` share
this one validation): numbers must be finite and of the attribute's range (shares 0-1 or
``"30%"``), fuels and industry codes must exist (GB/T 4754-2017), filters name known fields and
vocabulary values. A pack that loads can be evaluated.

Evaluation is three-valued: a condition is true, false, or unknown (a missing attribute, or
a layer that failed, is empty, or does not cover the site). A rule whose condition is unknown
gives ``needs_info`` with the reason and the outcome it could lead to, never a guess.
Industry codes: a project may declare several; each is screened and a rule takes the most
severe outcome over them. A division or group code (C26, C261) decides a rule only where every
class under it is decided the same way; otherwise the rule is ``needs_info`` naming the classes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from zoning.errors import AttributeProblem, RulePackError, RuleValueProblem
from zoning.io.inputs import load_yaml, read_text
from zoning.screening.attributes import (ATTRIBUTES, FUELS, IndustryCode, check_industry, class_flags, stricter,
                                         industry_codes, list_codes, parse_share)
from zoning.vocabulary import (DEFAULT_LINE, DIMENSIONS, INCOMPLETE_LAYER_STATUSES, INDUSTRY_LEVELS, LINES, NATURE_AREA_KINDS,
                               OUTCOME_ZH, OUTCOMES, ROLES, SEVERITY, UNIT_CLASSES, WATER_SOURCE_KINDS)

#: attributes computed by zoning (attributes.derived, carbon) that rules may name, with their kind
DERIVED_KINDS: dict[str, str] = {
    "is_two_high": "bool", "is_chemical": "bool", "industry_code": "industry", "industry_known": "bool",
    "footprint_ha": "number", "cleared_ha": "number", "forest_ha": "number", "forest_loss_ha": "number",
    "stock_loss_tCO2": "number",
}
DERIVED_ATTRIBUTES = tuple(DERIVED_KINDS)
#: every attribute a rule may name -> its kind (text, industry, bool, number, share, fuel)
ATTR_KINDS: dict[str, str] = {**{k: v[0] for k, v in ATTRIBUTES.items()}, **DERIVED_KINDS}
#: attributes whose value follows from the industry code (evaluated per class)
INDUSTRY_ATTRS = ("industry", "industry_code", "industry_known", "is_two_high", "is_chemical")
#: fields a hit/within/near filter may name, per role
FILTER_FIELDS = {
    "admin": {"code", "name"},
    "red_line": {"id", "name", "type", "county_code"},
    "control_unit": {"code", "name", "class", "county_code"},
    "park": {"id", "name", "level", "chemical", "county_code"},
    "protected": {"id", "name", "kind", "grade", "county_code"},
    "no_burn": {"id", "name", "county_code"},
    "program": {"id", "name", "program"},
}
#: filter fields whose values come from the vocabulary (anything else never matches)
FILTER_VALUES: dict[tuple[str, str], tuple] = {
    ("control_unit", "class"): tuple(UNIT_CLASSES),
    ("protected", "kind"): NATURE_AREA_KINDS + WATER_SOURCE_KINDS,
    ("park", "chemical"): (True, False),
}
COMPARATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "prefix")
_ORDER = ("lt", "le", "gt", "ge")
_RULE_KEYS = {"id", "title", "dimension", "line", "citation", "scope", "when", "outcome", "message", "note"}
_PACK_KEYS = {"name", "version", "issued", "description", "synthetic", "rules"}
_COUNTY_RE = re.compile(r"^\d{6}$")
#: the line of a control unit's own access-list clauses
ACCESS_LIST_LINE = LINES[-1]


@dataclass
class Rule:
    id: str
    dimension: str
    line: str
    citation: str
    scope: Any
    when: Any
    outcome: str
    message_zh: str
    message_en: str
    title_zh: str = ""
    title_en: str = ""
    source_line: int = 0

    @property
    def compiled(self) -> tuple:
        """(scope, when) as functions of the facts, compiled on first use."""
        if not hasattr(self, "_compiled"):
            self._compiled = (compile_condition(self.scope), compile_condition(self.when))
        return self._compiled

    def __getstate__(self) -> dict:
        """Pickle without the compiled closures (they cannot be pickled; recompiled on first use):
        a pack that has screened once must still reach a process pool (forkserver/spawn)."""
        state = dict(self.__dict__)
        state.pop("_compiled", None)
        return state


@dataclass
class RulePack:
    name: str
    version: str
    path: Path
    rules: list[Rule]
    synthetic: bool = False
    description: str = ""
    _groups: dict = field(default_factory=dict, repr=False, compare=False)

    def industry_leaves(self) -> list[tuple[str, Any]]:
        """(comparator, value) of every condition on the industry code, in pack order."""
        if "_leaves" not in self._groups:
            leaves = []
            for rule in self.rules:
                for cond in (rule.scope, rule.when):
                    for op, arg in iter_leaves(cond):
                        if op == "attr" and arg.get("name") in ("industry", "industry_code"):
                            comp = next(k for k in arg if k in COMPARATORS)
                            leaves.append((comp, arg[comp]))
            self._groups["_leaves"] = leaves
            self._groups["_uses"] = bool(leaves) or any(
                op == "attr" and arg.get("name") in INDUSTRY_ATTRS
                for rule in self.rules for cond in (rule.scope, rule.when) for op, arg in iter_leaves(cond))
        return self._groups["_leaves"]

    def __getstate__(self) -> dict:
        """Pickle without the compiled conditions (closures; recompiled on first use)."""
        state = dict(self.__dict__)
        state["_groups"] = {k: v for k, v in self._groups.items() if k != "_compiled"}
        return state

    def compiled(self) -> list[tuple[Rule, Callable, Callable, str | None]]:
        """(rule, scope, when, gate) of every rule, the conditions compiled to functions of the facts,
        once. ``gate``: a role whose features the scope needs (a ``hit``/``within`` scope, or one
        part of an ``all`` scope): at a site with no hit of that role, in a layer complete there,
        the scope is false without evaluating it."""
        if "_compiled" not in self._groups:
            self._groups["_compiled"] = [(rule, *rule.compiled, _scope_gate(rule.scope)) for rule in self.rules]
        return self._groups["_compiled"]

    def uses_industry(self) -> bool:
        """Whether any rule looks at the industry code or a flag derived from it."""
        self.industry_leaves()
        return self._groups["_uses"]

    def class_groups(self, code: IndustryCode) -> list[list[str]]:
        """The classes of ``code`` split into groups every rule of this pack treats alike."""
        if code.code not in self._groups:
            leaves = self.industry_leaves()
            groups: dict[tuple, list[str]] = {}
            for cls in code.classes:
                sig = tuple(_compare(c, cls, w) for c, w in leaves) + class_flags(cls)
                groups.setdefault(sig, []).append(cls)
            self._groups[code.code] = list(groups.values())
        return self._groups[code.code]


# ---------------------------------------------------------------------------------------
# loading and validation
#: largest rule pack read (bytes); a real one is ~30 KB
MAX_PACK_BYTES = 5 * 1024 * 1024
#: deepest all/any/not nesting of a condition (a real rule nests 2-4 levels)
MAX_CONDITION_DEPTH = 32
def _line_numbers(text: str) -> list[int]:
    """1-based source line of each item of the top-level ``rules`` list."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


class _Problems:
    def __init__(self, path: Path):
        self.path = path
        self.items: list[tuple[int, str, str, str]] = []

    def add(self, line: int, rid: str, zh: str, en: str) -> None:
        self.items.append((line, rid, zh, en))

    #: problems listed one per line by ``zoning rules check`` (the rest are counted)
    MAX_LISTED = 50

    def raise_if_any(self) -> None:
        if self.items:
            line, rid, zh, en = self.items[0]
            more = f"（另有 {len(self.items) - 1} 处问题）" if len(self.items) > 1 else ""
            more_en = f" (+{len(self.items) - 1} more problems)" if len(self.items) > 1 else ""
            exc = RulePackError(f"{self.path.name} 第 {line} 行 规则 {rid}：{zh}{more}",
                                f"{self.path.name} line {line} rule {rid}: {en}{more_en}")
            #: every problem as (zh, en), in file order: `zoning rules check` prints them all
            exc.problems = [(f"{self.path.name} 第 {ln} 行 规则 {r}：{z}", f"{self.path.name} line {ln} rule {r}: {e}")
                            for ln, r, z, e in self.items]
            raise exc


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any, what: str, *, lo: float | None = None, hi: float | None = None) -> float:
    if not _is_number(v) or not math.isfinite(v):
        raise RuleValueProblem(f"{what} 应为有限数值，而不是 {v!r}", f"{what} must be a finite number, not {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo if lo is not None else '-∞'}-{hi if hi is not None else '∞'}"
        raise RuleValueProblem(f"{what} 应在 {rng} 之间：{v!r}", f"{what} must be within {rng}: {v!r}")
    return float(v) if isinstance(v, float) else v


def _scalar_list(v: Any, what: str) -> list:
    values = v if isinstance(v, list) else [v]
    if not values or any(not isinstance(x, (str, int, float, bool)) or isinstance(x, dict) for x in values):
        raise RuleValueProblem(f"{what} 应为一个值或非空列表：{v!r}", f"{what} must be a value or a non-empty list: {v!r}")
    return values


def _check_value(name: str, kind: str, comp: str, value: Any) -> Any:
    """The comparison value of ``attr`` ``name`` validated and normalised (or RuleValueProblem)."""
    what = f"attr {name} {comp}"
    listy = comp in ("in", "not_in")
    if listy and (not isinstance(value, list) or not value):
        raise RuleValueProblem(f"{what} 需要非空列表", f"{what} needs a non-empty list")
    values = value if listy else [value]
    if kind in ("number", "share"):
        if comp == "prefix":
            raise RuleValueProblem(f"{what}：数值属性不能用 prefix", f"{what}: 'prefix' does not apply to a number")
        out = []
        for v in values:
            if kind == "share":
                if isinstance(v, str) and v.strip().endswith(("%", "％")):
                    try:
                        v = parse_share(name, v)
                    except AttributeProblem as exc:
                        raise RuleValueProblem(f"{what}：{exc.zh}", f"{what}: {exc.en}") from None
                elif _is_number(v) and math.isfinite(v) and v > 1:
                    raise RuleValueProblem(f"{what} 的比例 {v!r} 大于 1：请写 0-1 的小数或 \"{v}%\"",
                               f"{what}: share {v!r} is above 1: write it as 0-1 or as \"{v}%\"")
                out.append(_finite(v, what, lo=0, hi=1))
            else:
                out.append(_finite(v, what, lo=0))
        return out if listy else out[0]
    if comp in _ORDER:
        raise RuleValueProblem(f"{what}：{kind} 类属性不能比较大小", f"{what}: '{comp}' does not apply to a {kind} attribute")
    if kind == "bool":
        if comp == "prefix" or any(not isinstance(v, bool) for v in values):
            raise RuleValueProblem(f"{what} 应为 true/false", f"{what} must be true or false, not {value!r}")
        return value
    if kind == "fuel":
        if comp == "prefix":
            raise RuleValueProblem(f"{what}：燃料不能用 prefix", f"{what}: 'prefix' does not apply to a fuel")
        out = []
        for v in values:
            fuel = FUELS.get(str(v).strip().lower()) if isinstance(v, str) else None
            if fuel is None:
                raise RuleValueProblem(f"{what}：未知燃料 {v!r}", f"{what}: unknown fuel {v!r}; use {', '.join(sorted(set(FUELS.values())))}")
            out.append(fuel)
        return out if listy else out[0]
    if kind == "industry":
        if comp == "prefix":
            values = _scalar_list(value, what)
        out = []
        for v in values:
            if not isinstance(v, str):
                raise RuleValueProblem(f"{what}：行业代码应写成文本，如 \"C2614\"", f"{what}: write industry codes as text, e.g. \"C2614\"")
            try:
                info = check_industry(v)
            except AttributeProblem as exc:
                raise RuleValueProblem(f"{what}：{exc.zh}", f"{what}: {exc.en}") from None
            if not info.known:
                raise RuleValueProblem(f"{what}：{info.note.split(' / ')[0]}", f"{what}: {info.note.split(' / ')[-1]}")
            if comp != "prefix" and not info.is_class:
                raise RuleValueProblem(f"{what}：比较对象应为 4 位小类代码（{v} 为{info.level}），大类/中类请用 prefix",
                           f"{what}: compare with 4-digit class codes ({v} is a {info.level}); use 'prefix' for "
                           f"divisions and groups")
            out.append(info.code)
        return out if (listy or comp == "prefix") else out[0]
    # text
    for v in (_scalar_list(value, what) if comp == "prefix" else values):
        if not isinstance(v, str):
            raise RuleValueProblem(f"{what} 应为文本", f"{what} must be text, not {v!r}")
    return value


def _check_filter(role: str, key: str, value: Any) -> Any:
    what = f"{role}.{key}"
    values = _scalar_list(value, what)
    allowed = FILTER_VALUES.get((role, key))
    if allowed is not None:
        for v in values:
            if v not in allowed or isinstance(v, bool) != isinstance(allowed[0], bool):
                raise RuleValueProblem(f"{what} 的值 {v!r} 无效，可选：{'、'.join(map(str, allowed))}",
                           f"{what}: {v!r} never matches; use {', '.join(map(str, allowed))}")
    if key == "county_code":
        for v in values:
            if isinstance(v, bool) or not _COUNTY_RE.match(str(v)):
                raise RuleValueProblem(f"{what} 应为 6 位区县代码：{v!r}", f"{what} must be a 6-digit county code: {v!r}")
    return value


def _check_condition(cond: Any, where: str, probs: _Problems, line: int, rid: str) -> Any:
    """Validate a condition tree; returns it with values normalised (fuels, codes, shares)."""
    def bad(zh, en):
        probs.add(line, rid, f"{where}：{zh}", f"{where}: {en}")

    if where.count(".") > MAX_CONDITION_DEPTH:
        bad(f"条件嵌套超过 {MAX_CONDITION_DEPTH} 层", f"the condition nests deeper than {MAX_CONDITION_DEPTH} levels")
        return cond
    if not isinstance(cond, dict) or len(cond) != 1:
        bad("条件应为只有一个键的映射（all/any/not/hit/within/near/attr/county）",
            "a condition is a mapping with exactly one key (all/any/not/hit/within/near/attr/county)")
        return cond
    (op, arg), = cond.items()
    try:
        if op in ("all", "any"):
            if not isinstance(arg, list) or not arg:
                bad(f"{op} 需要非空列表", f"'{op}' needs a non-empty list")
                return cond
            return {op: [_check_condition(sub, f"{where}.{op}[{i}]", probs, line, rid) for i, sub in enumerate(arg)]}
        if op == "not":
            return {"not": _check_condition(arg, f"{where}.not", probs, line, rid)}
        if op in ("hit", "within", "near"):
            spec = {"role": arg} if isinstance(arg, str) else arg
            if not isinstance(spec, dict) or "role" not in spec:
                bad(f"{op} 需要 role", f"'{op}' needs a role")
                return cond
            role = spec["role"]
            if not isinstance(role, str) or role not in FILTER_FIELDS:
                bad(f"未知图层角色 {role!r}", f"unknown role {role!r}; roles: {', '.join(FILTER_FIELDS)}")
                return cond
            extra = {"min_share"} if op == "hit" else ({"within_m"} if op == "near" else set())
            out = {}
            for key, value in spec.items():
                if key == "role":
                    out[key] = value
                elif key == "min_share" and "min_share" in extra:
                    out[key] = _finite(value, "min_share", lo=0, hi=1)
                elif key == "within_m" and "within_m" in extra:
                    out[key] = _finite(value, "within_m（米 / metres）", lo=0)
                elif key in FILTER_FIELDS[role]:
                    out[key] = _check_filter(role, key, value)
                else:
                    bad(f"{op} 中未知字段 {key!r}", f"unknown field {key!r} for role {role} in '{op}' "
                        f"(fields: {', '.join(sorted(FILTER_FIELDS[role] | extra))})")
            if op == "near" and "within_m" not in spec:
                bad("near 需要数值 within_m（米）", "'near' needs a numeric within_m (metres)")
            return {op: role if isinstance(arg, str) else out}
        if op == "attr":
            if not isinstance(arg, dict) or "name" not in arg:
                bad("attr 需要 name", "'attr' needs a name")
                return cond
            name = arg["name"]
            if not isinstance(name, str) or name not in ATTR_KINDS:
                bad(f"未知属性 {name!r}", f"unknown attribute {name!r}; known: {', '.join(ATTR_KINDS)}")
                return cond
            comps = [k for k in arg if k in COMPARATORS]
            others = [k for k in arg if k not in COMPARATORS and k not in ("name", "if_missing")]
            if len(comps) != 1 or others:
                bad(f"attr 需要且只需一个比较（{'/'.join(COMPARATORS)}）",
                    f"'attr' needs exactly one comparison ({'/'.join(COMPARATORS)}), got {sorted(comps + others)}")
                return cond
            mode = arg.get("if_missing", "unknown")
            if mode not in ("unknown", "false", "true", False, True):
                bad("if_missing 只能是 unknown/false/true", "if_missing must be unknown, false or true")
            comp = comps[0]
            return {"attr": {**arg, comp: _check_value(name, ATTR_KINDS[name], comp, arg[comp])}}
        if op == "county":
            if not isinstance(arg, dict) or set(arg) != {"in"} or not isinstance(arg["in"], list) or not arg["in"]:
                bad("county 需要 {in: [区县代码...]}", "'county' needs {in: [county codes]}")
                return cond
            for v in arg["in"]:
                if isinstance(v, bool) or not _COUNTY_RE.match(str(v)):
                    raise RuleValueProblem(f"county 应为 6 位区县代码：{v!r}", f"county codes have 6 digits: {v!r}")
            return {"county": {"in": [str(v) for v in arg["in"]]}}
    except RuleValueProblem as exc:
        bad(exc.zh, exc.en)
        return cond
    bad(f"未知条件 {op!r}", f"unknown condition {op!r}; use all/any/not/hit/within/near/attr/county")
    return cond


def iter_leaves(cond: Any):
    """Yield the (op, arg) leaves of a condition tree (hit/within/near/attr/county)."""
    if not isinstance(cond, dict):
        return
    for op, arg in cond.items():
        if op in ("all", "any"):
            for sub in arg:
                yield from iter_leaves(sub)
        elif op == "not":
            yield from iter_leaves(arg)
        else:
            yield op, arg


def _roles_in(cond: Any) -> set[str]:
    return {(arg if isinstance(arg, str) else arg.get("role")) for op, arg in iter_leaves(cond)
            if op in ("hit", "within", "near") and isinstance(arg, (str, dict))}


def unit_codes_in(cond: Any) -> set[str]:
    """Control-unit codes a condition names (for checking a pack against a catalog)."""
    out: set[str] = set()
    for op, arg in iter_leaves(cond):
        if op in ("hit", "within", "near") and isinstance(arg, dict) and arg.get("role") == "control_unit" \
                and "code" in arg:
            codes = arg["code"]
            out |= {str(c) for c in (codes if isinstance(codes, list) else [codes])}
    return out


def _text(value: Any, key: str, probs: _Problems, line: int, rid: str) -> tuple[str, str]:
    if isinstance(value, str) and value.strip():
        return value, value
    if isinstance(value, dict) and set(value) <= {"zh", "en"} and isinstance(value.get("zh"), str) \
            and value["zh"].strip():
        en = value.get("en")
        return str(value["zh"]), en if isinstance(en, str) and en.strip() else str(value["zh"])
    probs.add(line, rid, f"{key} 应为 {{zh: …, en: …}}", f"'{key}' must be {{zh: …, en: …}}")
    return "", ""


#: rule packs parsed before, by resolved path: (the text parsed, the pack). A pack is parsed
#: again whenever its text differs (an edited file is re-read); callers get their own copy.
_PARSED: dict[str, tuple[str, RulePack]] = {}


def load_rule_pack(path: Path | str) -> RulePack:
    """Load and validate a rule pack; raises RulePackError naming the rule id and line.

    ``zoning rules check`` and ``screen`` both call this: whatever loads can be evaluated.
    Parsing and validating a pack costs ~0.2 s; the same text is parsed once per process.
    """
    import copy

    text = read_text(Path(path), "规则包", "rule pack", error=RulePackError, max_bytes=MAX_PACK_BYTES)
    key = str(Path(path).resolve())
    found = _PARSED.get(key)
    if found is not None and found[0] == text:
        return copy.deepcopy(found[1])
    pack = _parse_rule_pack(path)
    if len(_PARSED) >= 16:
        _PARSED.clear()
    _PARSED[key] = (text, copy.deepcopy(pack))
    return pack


def _parse_rule_pack(path: Path | str) -> RulePack:
    path = Path(path)
    # UTF-8 or GBK, bounded in size, nesting and alias expansion (a billion-laughs pack is refused, not expanded)
    text = read_text(path, "规则包", "rule pack", error=RulePackError, max_bytes=MAX_PACK_BYTES)
    doc = load_yaml(text, path.name, error=RulePackError, max_depth=MAX_CONDITION_DEPTH + 8)
    probs = _Problems(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RulePackError(f"{path.name}：需要 name、version 和 rules 列表",
                            f"{path.name}: expected a mapping with name, version and a 'rules' list")
    for key in sorted(set(doc) - _PACK_KEYS, key=str):
        probs.add(1, "-", f"未知顶层字段 {key!r}", f"unknown top-level key {key!r}")
    for key in ("name", "version"):
        if not isinstance(doc.get(key), (str, int, float)) or isinstance(doc.get(key), bool) or not str(doc[key]).strip():
            probs.add(1, "-", f"缺少 {key}", f"missing '{key}'")
    if not isinstance(doc.get("synthetic", False), bool):
        probs.add(1, "-", "synthetic 应为 true/false", "'synthetic' must be true or false")
    lines = _line_numbers(text)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(doc["rules"]):
        line = lines[i] if i < len(lines) else 0
        rid = str(raw.get("id", f"#{i + 1}")) if isinstance(raw, dict) else f"#{i + 1}"
        if not isinstance(raw, dict):
            probs.add(line, rid, "规则应为映射", "a rule must be a mapping")
            continue
        for key in sorted(set(raw) - _RULE_KEYS, key=str):
            probs.add(line, rid, f"未知字段 {key!r}", f"unknown field {key!r}; allowed: {', '.join(sorted(_RULE_KEYS))}")
        for key in ("id", "dimension", "citation", "scope", "outcome", "message"):
            if key not in raw:
                probs.add(line, rid, f"缺少 {key}", f"missing '{key}'")
        if "id" in raw and (not isinstance(raw["id"], (str, int)) or isinstance(raw["id"], bool) or not str(raw["id"]).strip()):
            probs.add(line, rid, "id 应为非空文本", "'id' must be non-empty text")
        if rid in seen:
            probs.add(line, rid, f"规则编号重复（第 {seen[rid]} 行已有）", f"duplicate id (also on line {seen[rid]})")
        seen[rid] = line
        dim = raw.get("dimension")
        if dim is not None and dim not in DIMENSIONS:
            probs.add(line, rid, f"未知维度 {dim!r}", f"unknown dimension {dim!r}; use {', '.join(DIMENSIONS)}")
        if "citation" in raw and (not isinstance(raw["citation"], str) or not raw["citation"].strip()):
            probs.add(line, rid, "citation 应为非空文本（出处）", "'citation' must name the source text")
        if raw.get("outcome") is not None and raw["outcome"] not in OUTCOMES:
            probs.add(line, rid, f"未知结论 {raw['outcome']!r}", f"unknown outcome {raw['outcome']!r}; use {', '.join(OUTCOMES)}")
        scope = raw.get("scope", "all")
        if scope != "all":
            scope = _check_condition(scope, "scope", probs, line, rid)
        when = raw.get("when")
        if when is not None:
            when = _check_condition(when, "when", probs, line, rid)
        unit_scoped = "control_unit" in _roles_in(scope)
        ln = raw.get("line") or (ACCESS_LIST_LINE if unit_scoped else
                                 DEFAULT_LINE.get(dim if isinstance(dim, str) else "", ACCESS_LIST_LINE))
        if ln not in LINES:
            probs.add(line, rid, f"未知 line {ln!r}", f"unknown line {ln!r}; use {', '.join(LINES)}")
        elif unit_scoped and ln != ACCESS_LIST_LINE:
            probs.add(line, rid, f"管控单元准入清单条款属于“{ACCESS_LIST_LINE}”，不能归入“{ln}”",
                      f"a control unit's own list clause belongs to the line {ACCESS_LIST_LINE}, not {ln}")
        msg_zh, msg_en = _text(raw.get("message", ""), "message", probs, line, rid) if "message" in raw else ("", "")
        title_zh, title_en = _text(raw["title"], "title", probs, line, rid) if "title" in raw else ("", "")
        rules.append(Rule(id=rid, dimension=dim or "", line=ln, citation=str(raw.get("citation", "")),
                          scope=scope, when=when, outcome=raw.get("outcome", ""), message_zh=msg_zh,
                          message_en=msg_en, title_zh=title_zh, title_en=title_en, source_line=line))
    probs.raise_if_any()
    return RulePack(name=str(doc["name"]), version=str(doc["version"]), path=path.resolve(), rules=rules,
                    synthetic=bool(doc.get("synthetic", False)), description=str(doc.get("description", "")))


# ---------------------------------------------------------------------------------------
# evaluation
@dataclass
class Tri:
    """A three-valued truth: True, False or None (unknown), with the reasons behind it and the
    attributes whose absence left it unknown."""

    value: bool | None
    reasons: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()


@dataclass
class Facts:
    """What a rule may look at for one site (built by screening from the overlay)."""

    hits: list  # overlay.Hit
    layer_status: dict[str, str]  # role -> ok/empty/failed/outside/gap/partial/partly_outside
    attrs: dict[str, Any]
    derived: dict[str, Any]
    county_code: str | None
    distance_fn: Any = None  # callable(role, filters) -> metres or None
    by_role: dict = field(default_factory=dict, init=False, repr=False)
    cache: dict = field(default_factory=dict, repr=False)  # distances, shared by the per-class copies

    def __post_init__(self):
        for h in self.hits:
            self.by_role.setdefault(h.role, []).append(h)

    def distance(self, role: str, filters: dict) -> float | None:
        key = (role, repr(sorted(filters.items())))
        if key not in self.cache:
            self.cache[key] = self.distance_fn(role, filters) if self.distance_fn else None
        return self.cache[key]


def _matcher(filters: dict) -> Callable:
    """A predicate on a hit's properties for ``{field: value-or-list}`` filters, built once."""
    tests = []
    for key, want in filters.items():
        wants = want if isinstance(want, list) else [want]
        if any(isinstance(w, bool) for w in wants):
            tests.append((key, True, {bool(w) for w in wants}))
        else:
            tests.append((key, False, {str(w) for w in wants}))

    def match(hit) -> bool:
        for key, as_bool, allowed in tests:
            have = hit.props.get(key)
            if (bool(have) if as_bool or isinstance(have, bool) else str(have)) not in allowed:
                return False
        return True
    return match


def _layer_unknown(role: str, facts: Facts) -> Tri | None:
    status = facts.layer_status.get(role, "failed")
    if status == "ok":
        return None
    zh = {"failed": "图层加载失败", "empty": "图层为空", "outside": "站点不在图层覆盖范围内",
          "gap": "站点处没有该图层要素（覆盖缺口）", "partial": "图层部分要素无效（见图层表）",
          "partly_outside": "站点部分超出图层覆盖范围"}.get(status, status)
    return Tri(None, [f"{ROLES[role].zh if role in ROLES else role}（{role}）：{zh} / layer {role} is {status} at this site"])


def _incomplete(role: str, facts: Facts) -> bool:
    """The layer is usable but may lack features at the site: a hit counts, no hit proves nothing."""
    return facts.layer_status.get(role) in INCOMPLETE_LAYER_STATUSES


def _split(spec) -> tuple[str, dict, dict]:
    spec = {"role": spec} if isinstance(spec, str) else dict(spec)
    role = spec.pop("role")
    opts = {k: spec.pop(k) for k in ("min_share", "within_m") if k in spec}
    return role, spec, opts


def _attr_value(name: str, facts: Facts):
    """(value or None, the reason when None) of an attribute for the rules."""
    if name in ("industry", "industry_code"):
        raw = facts.attrs.get("industry")
        code = facts.derived.get("industry_code")
        if raw is None:
            return None, "缺少属性 industry（行业代码）/ attribute industry is missing"
        if code is None:
            try:
                notes = [c.note for c in industry_codes(raw) if not c.known]
            except AttributeProblem as exc:
                notes = [f"{exc.zh} / {exc.en}"]
            return None, notes[0] if notes else (f"行业代码 {raw} 无法识别 / industry code {raw} is not in "
                                                 f"GB/T 4754-2017")
        if len(str(code)) != 5:  # not a class: only apply_rules, class by class, can decide
            return None, (f"行业代码 {code} 不是 4 位小类代码 / industry code {code} is not a 4-digit class code")
        return code, ""
    if name in ("forest_ha", "forest_loss_ha", "stock_loss_tCO2") and facts.derived.get(name) is None:
        status = facts.derived.get("carbon_status")
        if status == "partial":
            return None, ("森林碳密度图只覆盖站点的一部分（其余为无数据或图外），无法判定 / the forest carbon raster has "
                          "data for part of the site only (the rest is nodata or outside it): cannot decide")
        if status not in (None, "ok", "no_footprint"):
            return None, f"森林碳密度不可用（{status}）/ forest carbon is not available ({status})"
        if name != "forest_ha":
            return None, "缺少属性 clear_share（植被清除比例）/ attribute clear_share is missing"
    if name in facts.derived:
        value = facts.derived[name]
        if value is None and name in ("is_two_high", "is_chemical"):
            base = name[3:]
            return None, (f"缺少属性 {base}（且行业代码无法判断）/ attribute {base} is missing "
                          f"and the industry code does not settle it")
        return value, f"缺少属性 {name} / attribute {name} is missing"
    return facts.attrs.get(name), f"缺少属性 {name}（{ATTRIBUTES.get(name, ('', name))[1]}）/ attribute {name} is missing"


#: what an undecided forest-area rule lacks when the carbon raster has no data at the site
CARBON_DATA = "forest_carbon"
#: the derived figures measured from the carbon raster
CARBON_FIGURES = ("forest_ha", "forest_loss_ha", "stock_loss_tCO2")


def _carbon_unavailable(name: str, facts) -> bool:
    """Whether ``name`` is unknown because the carbon raster has no (whole) data at the site."""
    return name in CARBON_FIGURES and facts.derived.get("carbon_status") not in (None, "ok", "no_footprint")


def _missing_attr(name: str) -> str:
    """The stated attribute a reviewer supplies to settle ``name``."""
    return {"is_two_high": "two_high", "is_chemical": "chemical", "industry_code": "industry",
            "industry_known": "industry", "forest_loss_ha": "clear_share", "stock_loss_tCO2": "clear_share",
            "cleared_ha": "clear_share"}.get(name, name)


def _compare(op: str, have, want) -> bool:
    if op == "eq":
        return have == want
    if op == "ne":
        return have != want
    if op == "in":
        return have in want
    if op == "not_in":
        return have not in want
    if op == "prefix":
        prefixes = want if isinstance(want, list) else [want]
        return any(str(have).startswith(str(p)) for p in prefixes)
    have, want = float(have), float(want)
    return {"lt": have < want, "le": have <= want, "gt": have > want, "ge": have >= want}[op]


def evaluate(cond: Any, facts: Facts) -> Tri:
    """Evaluate a condition to True, False or unknown (with reasons)."""
    return compile_condition(cond)(facts)


_TRUE = Tri(True)
_FALSE = Tri(False)


def compile_condition(cond: Any) -> Callable[[Facts], Tri]:
    """Turn a (validated) condition tree into a function of the facts, parsed once."""
    if cond is None or cond == "all":
        return lambda facts: _TRUE
    (op, arg), = cond.items()
    if op in ("all", "any"):
        parts = [compile_condition(c) for c in arg]
        decisive = op == "any"  # one decisive part settles it; else unknown wins over the rest

        def combine(facts):
            results = [p(facts) for p in parts]
            if any(r.value is decisive for r in results):
                return _TRUE if decisive else _FALSE
            unknown = [r for r in results if r.value is None]
            if not unknown:
                return _FALSE if decisive else _TRUE
            return Tri(None, list(dict.fromkeys(x for r in unknown for x in r.reasons)),
                       tuple(dict.fromkeys(m for r in unknown for m in r.missing)))
        return combine
    if op == "not":
        inner = compile_condition(arg)

        def negate(facts):
            r = inner(facts)
            return r if r.value is None else (_FALSE if r.value else _TRUE)
        return negate
    if op in ("hit", "within"):
        role, filters, opts = _split(arg)
        min_share = float(opts.get("min_share", 0.0))
        match = _matcher(filters)

        def hit(facts):
            if facts.layer_status.get(role) == "ok":  # the common case first: a complete layer
                found = facts.by_role.get(role)
                if not found:
                    return _FALSE
                hits = [h for h in found if match(h)]
                if op == "hit":
                    return _TRUE if hits and sum(h.share for h in hits) >= min_share else _FALSE
                return _TRUE if any(h.share >= 0.999 for h in hits) else _FALSE
            unknown = _layer_unknown(role, facts)
            if unknown and not _incomplete(role, facts):
                return unknown
            hits = [h for h in facts.by_role.get(role, ()) if match(h)]
            if op == "hit":  # min_share is inclusive (以上)
                found = bool(hits) and sum(h.share for h in hits) >= min_share
            else:
                found = any(h.share >= 0.999 for h in hits)
            return _TRUE if found else (unknown or _FALSE)  # a missing feature could still be hit
        return hit
    if op == "near":
        role, filters, opts = _split(arg)
        within_m = float(opts["within_m"])
        match = _matcher(filters)

        def near(facts):
            unknown = _layer_unknown(role, facts)
            if unknown and not _incomplete(role, facts):
                return unknown
            if any(match(h) for h in facts.by_role.get(role, ())):
                return _TRUE
            dist = facts.distance(role, filters)
            return _TRUE if dist is not None and dist <= within_m else (unknown or _FALSE)  # 以内: inclusive
        return near
    if op == "attr":
        name = arg["name"]
        comp = next(k for k in arg if k in COMPARATORS)
        want = arg[comp]
        mode = arg.get("if_missing", "unknown")

        def attr(facts):
            value, missing_reason = _attr_value(name, facts)
            if value is None:
                if mode in ("false", False):
                    return _FALSE
                if mode in ("true", True):
                    return _TRUE
                # no carbon data at the site: the raster is what is missing, not an attribute to give
                lacking = CARBON_DATA if _carbon_unavailable(name, facts) else _missing_attr(name)
                return Tri(None, [missing_reason], (lacking,))
            return _TRUE if _compare(comp, value, want) else _FALSE
        return attr
    if op == "county":
        codes = {str(c) for c in arg["in"]}

        def county(facts):
            unknown = _layer_unknown("admin", facts)
            if unknown and _incomplete("admin", facts) and facts.county_code is not None:
                unknown = None  # the county holding most of the site is known
            if unknown or facts.county_code is None:
                return unknown or Tri(None, ["站点所在县区未知 / the site's county is unknown"])
            return Tri(str(facts.county_code) in codes)
        return county
    raise ValueError(f"unknown condition {op}")  # validated at load time; cannot happen


@dataclass
class RuleOutcome:
    rule: Rule
    outcome: str
    reasons: list[str]
    #: needs_info only: what the rule could end as once the missing information is known
    possible_outcomes: list[str] = field(default_factory=list)
    #: needs_info only: the attributes whose absence leaves it undecided (empty: a layer does)
    missing: list[str] = field(default_factory=list)


def _evaluate_all(pack: RulePack, facts: Facts) -> dict[str, RuleOutcome]:
    """Every rule that fired (its outcome) or could not be decided (needs_info), by id."""
    out: dict[str, RuleOutcome] = {}
    status, by_role = facts.layer_status, facts.by_role
    for rule, scope_fn, when_fn, gate in pack.compiled():
        if gate is not None and gate not in by_role and status.get(gate) == "ok":
            continue  # the scope needs a feature of a complete layer the site does not touch
        scope = scope_fn(facts)
        if scope.value is False:
            continue
        when = when_fn(facts)
        if when.value is False:
            continue
        if scope.value is None or when.value is None:
            reasons = list(dict.fromkeys(scope.reasons + when.reasons))
            missing = list(dict.fromkeys(scope.missing + when.missing))
            out[rule.id] = RuleOutcome(rule, "needs_info", reasons, [rule.outcome], missing)
        elif when.value:
            out[rule.id] = RuleOutcome(rule, rule.outcome, [])
    return out


def _scope_gate(cond) -> str | None:
    """The role a condition cannot be true without a hit of (see :meth:`RulePack.compiled`): a
    ``hit``/``within`` condition's own role, or that of one part of an ``all``; else None."""
    if not isinstance(cond, dict) or len(cond) != 1:
        return None
    (op, arg), = cond.items()
    if op in ("hit", "within"):
        return arg if isinstance(arg, str) else arg.get("role")
    if op == "all":
        for part in arg:
            role = _scope_gate(part)
            if role is not None:
                return role
    return None


def _scenario(facts: Facts, code: IndustryCode, cls: str | None) -> Facts:
    """The facts as they are when the project's industry is ``cls`` (a class of ``code``)."""
    two_high, chemical = facts.attrs.get("two_high"), facts.attrs.get("chemical")
    if cls is not None and facts.attrs.get("industry") == cls and facts.derived.get("industry_code") == cls \
            and facts.derived.get("industry_known") is True:
        flags = class_flags(cls)
        if facts.derived.get("is_two_high") == stricter(two_high, flags[0]) \
                and facts.derived.get("is_chemical") == stricter(chemical, flags[1]):
            return facts  # the project declared exactly this class: the facts are already its scenario
    derived = dict(facts.derived)
    if cls is None:  # a code that is not in the standard
        derived.update(industry_code=None, industry_known=False,
                       is_two_high=two_high, is_chemical=chemical)
    else:
        flags = class_flags(cls)
        derived.update(industry_code=cls, industry_known=True,
                       is_two_high=stricter(two_high, flags[0]), is_chemical=stricter(chemical, flags[1]))
    return Facts(hits=facts.hits, layer_status=facts.layer_status,
                 attrs={**facts.attrs, "industry": cls or code.code}, derived=derived,
                 county_code=facts.county_code, distance_fn=facts.distance_fn, cache=facts.cache)


def _label(outcome: str | None, lang: str) -> str:
    if outcome is None:
        return "does not apply" if lang == "en" else "不适用"
    return outcome if lang == "en" else OUTCOME_ZH[outcome]


def _per_code(pack: RulePack, facts: Facts, code: IndustryCode) -> dict[str, RuleOutcome]:
    """The rules for one declared code: decided where all its classes agree, else needs_info."""
    if not code.known:
        return _evaluate_all(pack, _scenario(facts, code, None))
    groups = pack.class_groups(code)
    results = [(g, _evaluate_all(pack, _scenario(facts, code, g[0]))) for g in groups]
    if len(results) == 1:
        return results[0][1]
    out: dict[str, RuleOutcome] = {}
    for rule in pack.rules:
        per = [(g, res.get(rule.id)) for g, res in results]
        labels = {o.outcome if o else None for _, o in per}
        if len(labels) == 1:
            first = per[0][1]
            if first is not None:
                out[rule.id] = RuleOutcome(rule, first.outcome,
                                           list(dict.fromkeys(x for _, o in per for x in o.reasons)),
                                           first.possible_outcomes,
                                           list(dict.fromkeys(m for _, o in per for m in o.missing)))
            continue
        by_label: dict[str | None, list[str]] = {}
        for g, o in per:
            by_label.setdefault(o.outcome if o else None, []).extend(g)
        order = sorted(by_label, key=lambda k: (len(by_label[k]), SEVERITY.get(k, -1)))
        zh = "；".join(f"{list_codes(sorted(by_label[k]))} → {_label(k, 'zh')}" for k in order)
        en = "; ".join(f"{list_codes(sorted(by_label[k]), 'en')} → {_label(k, 'en')}" for k in order)
        level_zh = INDUSTRY_LEVELS[code.level][0]
        reason = (f"行业代码 {code.code} 为{level_zh}（{len(code.classes)} 个小类），所含小类结论不同：{zh}；请填写 4 位小类代码"
                  f" / industry code {code.code} is a {code.level} of {len(code.classes)} classes that this rule "
                  f"decides differently: {en}; give the 4-digit class code")
        inner = [x for _, o in per if o is not None and o.outcome == "needs_info" for x in o.reasons]
        out[rule.id] = RuleOutcome(rule, "needs_info", list(dict.fromkeys([reason] + inner)), [rule.outcome],
                                   ["industry"])
    return out


def apply_rules(pack: RulePack, facts: Facts) -> list[RuleOutcome]:
    """Every rule that fired (its outcome) or could not be decided (needs_info), in pack order.

    With several industry codes each is screened and a rule takes its most severe outcome over
    them; a code above class level decides a rule only where all its classes agree.
    """
    raw = facts.attrs.get("industry")
    try:
        codes = industry_codes(raw) if raw is not None else []
    except AttributeProblem:
        codes = []  # malformed codes are refused when attributes are parsed; here: as missing
    if not pack.uses_industry() or not codes:
        found = _evaluate_all(pack, facts)
        return [found[r.id] for r in pack.rules if r.id in found]
    per_code = [(c, _per_code(pack, facts, c)) for c in codes]
    if len(per_code) == 1:
        found = per_code[0][1]
        return [found[r.id] for r in pack.rules if r.id in found]
    out: list[RuleOutcome] = []
    for rule in pack.rules:
        results = [(c, res[rule.id]) for c, res in per_code if rule.id in res]
        if not results:
            continue
        decided = [(c, o) for c, o in results if o.outcome != "needs_info" or not o.possible_outcomes]
        if decided:
            worst = max((o.outcome for _, o in decided), key=lambda x: SEVERITY[x])
            which = [c.code for c, o in decided if o.outcome == worst]
            reasons = [x for _, o in decided if o.outcome == worst for x in o.reasons]
            if len(which) < len(codes):
                reasons.insert(0, f"适用于行业代码 {'、'.join(which)} / applies to industry code {', '.join(which)}")
            out.append(RuleOutcome(rule, worst, list(dict.fromkeys(reasons))))
        else:
            out.append(RuleOutcome(rule, "needs_info",
                                   list(dict.fromkeys(f"{c.code}：{x}" if len(codes) > 1 else x
                                                      for c, o in results for x in o.reasons)),
                                   [rule.outcome], list(dict.fromkeys(m for _, o in results for m in o.missing))))
    return out


# ---------------------------------------------------------------------------------------
# verdicts
def _undecided(outcome: str, possible) -> bool:
    return outcome == "needs_info" and bool(possible)


def verdict_of(items) -> str:
    """The verdict of ``(outcome, possible_outcomes)`` pairs: the most severe decided outcome,
    or ``needs_info`` when an undecided one could end more severe than that (compliant: none)."""
    items = list(items)
    decided = [o for o, p in items if not _undecided(o, p)]
    worst = max(decided, key=lambda o: SEVERITY[o], default="compliant")
    for o, possible in items:
        if _undecided(o, possible) and any(SEVERITY[p] > SEVERITY[worst] for p in possible):
            return "needs_info"
    return worst


def overall_verdict(outcomes: list[RuleOutcome]) -> str:
    """The verdict of a site: the most severe outcome that fired, unless missing information
    could make it more severe (then ``needs_info``); compliant when nothing fired."""
    return verdict_of((o.outcome, o.possible_outcomes) for o in outcomes)


def possible_verdicts(items) -> list[str]:
    """Every verdict the site could get once the missing information is known, most severe first."""
    items = list(items)
    decided = [o for o, p in items if not _undecided(o, p)]
    worst = max(decided, key=lambda o: SEVERITY[o], default="compliant")
    out = {worst} | {p for o, possible in items if _undecided(o, possible) for p in possible
                     if SEVERITY[p] > SEVERITY[worst]}
    return sorted(out, key=lambda o: -SEVERITY[o])


def _zh_names(attrs) -> str:
    """Missing attributes as a reviewer reads them: 年综合能耗（energy_tce）、…"""
    return "、".join(f"{ATTRIBUTES[a][1].split('（')[0]}（{a}）" if a in ATTRIBUTES else
                    "森林碳密度数据（forest_carbon 图层）" if a == CARBON_DATA else str(a) for a in attrs)


def undecided_notes(outcomes: list[RuleOutcome]) -> list[str]:
    """One line per undecided rule that missing attributes keep open and that could end more
    severe than what fired: which rule, what is missing, what it could lead to."""
    decided = [o.outcome for o in outcomes if not _undecided(o.outcome, o.possible_outcomes)]
    worst = max(decided, key=lambda o: SEVERITY[o], default="compliant")
    out = []
    for o in outcomes:
        if not o.missing or not _undecided(o.outcome, o.possible_outcomes):
            continue
        worse = [p for p in o.possible_outcomes if SEVERITY[p] > SEVERITY[worst]]
        if not worse:
            continue
        p = max(worse, key=lambda x: SEVERITY[x])
        # an industry code was given but does not decide the rule (a division/group, or not a 2017 class)
        code_notes = [r for r in o.reasons if r.startswith("行业代码") and " / " in r]
        missing = [m for m in o.missing if not (m == "industry" and code_notes)]
        zh = "；".join([r.split(" / ", 1)[0] for r in code_notes] + ([f"缺少{_zh_names(missing)}"] if missing else []))
        en = "; ".join([r.split(" / ", 1)[1] for r in code_notes] +
                       ([f"for want of {', '.join(missing)}"] if missing else []))
        out.append(f"规则 {o.rule.id} 无法判定（{zh}），补充后可能为“{OUTCOME_ZH[p]}” / rule {o.rule.id} is "
                   f"undecided ({en}) and could end {p}" if code_notes else
                   f"规则 {o.rule.id} 因缺少{_zh_names(o.missing)}无法判定，补充后可能为“{OUTCOME_ZH[p]}” / "
                   f"rule {o.rule.id} is undecided for want of "
                   f"{', '.join('forest carbon data' if m == CARBON_DATA else m for m in o.missing)} and could end {p}")
    return out


def unit_code_problems(pack: RulePack, unit_codes: set[str]) -> list[str]:
    """Rules that name control-unit codes absent from ``unit_codes`` (the catalog's units)."""
    problems = []
    for rule in pack.rules:
        for code in sorted(unit_codes_in(rule.scope) | unit_codes_in(rule.when)):
            if code not in unit_codes:
                problems.append(f"line {rule.source_line} rule {rule.id}: unit code {code} is not in "
                                f"the catalog's control units")
    return problems
