"""Access-list rules as data: loading, validation and three-valued evaluation.

A rule pack (YAML) has ``name``, ``version`` and ``rules``. Each rule:

    id: RL-01
    title: {zh: ..., en: ...}            # optional
    dimension: 空间布局约束               # 空间布局约束 | 污染物排放管控 | 环境风险防控 | 资源利用效率
    line: 生态保护红线                    # optional; 符合性分析 row, default from the dimension
    citation: 《…》第…条                  # document and section, or the unit's access list
    scope: all | <condition>             # where the rule applies
    when: <condition>                    # optional; default: always (within scope)
    outcome: prohibited | conditional | needs_info | compliant
    message: {zh: ..., en: ...}

Conditions (a mapping with one key; ``all``/``any``/``not`` combine):

    hit: ROLE | {role: ROLE, FIELD: value-or-list, min_share: 0.0}   site overlaps such a feature
    within: {role: ROLE, FIELD: ...}                                  site lies entirely inside one
    near: {role: ROLE, FIELD: ..., within_m: 1000}                    such a feature within N metres
    attr: {name: ATTR, eq|ne|lt|le|gt|ge|in|not_in|prefix: VALUE, if_missing: unknown|false|true}
    county: {in: [350782, ...]}

Evaluation is three-valued: a condition is true, false, or unknown (a missing attribute, or
a layer that failed, is empty, or does not cover the site). A rule whose condition is unknown
gives ``needs_info`` with the reason, never a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from zoning.screening.attributes import ATTRIBUTES
from zoning.vocabulary import DEFAULT_LINE, DIMENSIONS, LINES, OUTCOMES, ROLES, SEVERITY
from zoning.errors import InputFileNotFound, RulePackError

#: attributes computed by zoning (attributes.derived, carbon) that rules may name
DERIVED_ATTRIBUTES = ("is_two_high", "is_chemical", "industry_code", "industry_known", "footprint_ha",
                      "cleared_ha", "forest_ha", "forest_loss_ha", "stock_loss_tCO2")
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
COMPARATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "prefix")
_RULE_KEYS = {"id", "title", "dimension", "line", "citation", "scope", "when", "outcome", "message", "note"}
_PACK_KEYS = {"name", "version", "issued", "description", "synthetic", "rules"}


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


@dataclass
class RulePack:
    name: str
    version: str
    path: Path
    rules: list[Rule]
    synthetic: bool = False
    description: str = ""


# ---------------------------------------------------------------------------------------
# loading and validation
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

    def raise_if_any(self) -> None:
        if self.items:
            line, rid, zh, en = self.items[0]
            more = f"（另有 {len(self.items) - 1} 处问题）" if len(self.items) > 1 else ""
            more_en = f" (+{len(self.items) - 1} more problems)" if len(self.items) > 1 else ""
            raise RulePackError(f"{self.path.name} 第 {line} 行 规则 {rid}：{zh}{more}",
                                f"{self.path.name} line {line} rule {rid}: {en}{more_en}")


def _check_condition(cond: Any, where: str, probs: _Problems, line: int, rid: str) -> None:
    def bad(zh, en):
        probs.add(line, rid, f"{where}：{zh}", f"{where}: {en}")

    if not isinstance(cond, dict) or len(cond) != 1:
        bad("条件应为只有一个键的映射（all/any/not/hit/within/near/attr/county）",
            "a condition is a mapping with exactly one key (all/any/not/hit/within/near/attr/county)")
        return
    (op, arg), = cond.items()
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            bad(f"{op} 需要非空列表", f"'{op}' needs a non-empty list")
            return
        for i, sub in enumerate(arg):
            _check_condition(sub, f"{where}.{op}[{i}]", probs, line, rid)
    elif op == "not":
        _check_condition(arg, f"{where}.not", probs, line, rid)
    elif op in ("hit", "within", "near"):
        spec = {"role": arg} if isinstance(arg, str) else arg
        if not isinstance(spec, dict) or "role" not in spec:
            bad(f"{op} 需要 role", f"'{op}' needs a role")
            return
        role = spec["role"]
        if role not in FILTER_FIELDS:
            bad(f"未知图层角色 {role!r}", f"unknown role {role!r}; roles: {', '.join(FILTER_FIELDS)}")
            return
        extra = {"min_share"} if op == "hit" else ({"within_m"} if op == "near" else set())
        for key in spec:
            if key not in ({"role"} | extra | FILTER_FIELDS[role]):
                bad(f"{op} 中未知字段 {key!r}", f"unknown field {key!r} for role {role} in '{op}' "
                    f"(fields: {', '.join(sorted(FILTER_FIELDS[role] | extra))})")
        if op == "near" and not isinstance(spec.get("within_m"), (int, float)):
            bad("near 需要数值 within_m（米）", "'near' needs a numeric within_m (metres)")
    elif op == "attr":
        if not isinstance(arg, dict) or "name" not in arg:
            bad("attr 需要 name", "'attr' needs a name")
            return
        name = arg["name"]
        if name not in ATTRIBUTES and name not in DERIVED_ATTRIBUTES:
            bad(f"未知属性 {name!r}", f"unknown attribute {name!r}; known: "
                f"{', '.join(list(ATTRIBUTES) + list(DERIVED_ATTRIBUTES))}")
        comps = [k for k in arg if k in COMPARATORS]
        others = [k for k in arg if k not in COMPARATORS and k not in ("name", "if_missing")]
        if len(comps) != 1 or others:
            bad(f"attr 需要且只需一个比较（{'/'.join(COMPARATORS)}）",
                f"'attr' needs exactly one comparison ({'/'.join(COMPARATORS)}), got {sorted(comps + others)}")
        if arg.get("if_missing", "unknown") not in ("unknown", "false", "true", False, True):
            bad("if_missing 只能是 unknown/false/true", "if_missing must be unknown, false or true")
    elif op == "county":
        if not isinstance(arg, dict) or set(arg) != {"in"} or not isinstance(arg["in"], list):
            bad("county 需要 {in: [区县代码...]}", "'county' needs {in: [county codes]}")
    else:
        bad(f"未知条件 {op!r}", f"unknown condition {op!r}; use all/any/not/hit/within/near/attr/county")


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
    if isinstance(value, str):
        return value, value
    if isinstance(value, dict) and set(value) <= {"zh", "en"} and value.get("zh"):
        return str(value["zh"]), str(value.get("en") or value["zh"])
    probs.add(line, rid, f"{key} 应为 {{zh: …, en: …}}", f"'{key}' must be {{zh: …, en: …}}")
    return "", ""


def load_rule_pack(path: Path | str) -> RulePack:
    """Load and validate a rule pack; raises RulePackError naming the rule id and line."""
    path = Path(path)
    if not path.exists():
        raise InputFileNotFound(f"规则包不存在：{path}", f"rule pack not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise RulePackError(f"{path.name} 第 {line} 行 YAML 语法错误", f"{path.name} line {line}: YAML syntax error "
                            f"({getattr(exc, 'problem', exc)})") from None
    probs = _Problems(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RulePackError(f"{path.name}：需要 name、version 和 rules 列表",
                            f"{path.name}: expected a mapping with name, version and a 'rules' list")
    for key in sorted(set(doc) - _PACK_KEYS):
        probs.add(1, "-", f"未知顶层字段 {key!r}", f"unknown top-level key {key!r}")
    for key in ("name", "version"):
        if not doc.get(key):
            probs.add(1, "-", f"缺少 {key}", f"missing '{key}'")
    lines = _line_numbers(text)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(doc["rules"]):
        line = lines[i] if i < len(lines) else 0
        rid = str(raw.get("id", f"#{i + 1}")) if isinstance(raw, dict) else f"#{i + 1}"
        if not isinstance(raw, dict):
            probs.add(line, rid, "规则应为映射", "a rule must be a mapping")
            continue
        for key in sorted(set(raw) - _RULE_KEYS):
            probs.add(line, rid, f"未知字段 {key!r}", f"unknown field {key!r}; allowed: {', '.join(sorted(_RULE_KEYS))}")
        for key in ("id", "dimension", "citation", "scope", "outcome", "message"):
            if key not in raw:
                probs.add(line, rid, f"缺少 {key}", f"missing '{key}'")
        if rid in seen:
            probs.add(line, rid, f"规则编号重复（第 {seen[rid]} 行已有）", f"duplicate id (also on line {seen[rid]})")
        seen[rid] = line
        dim = raw.get("dimension")
        if dim is not None and dim not in DIMENSIONS:
            probs.add(line, rid, f"未知维度 {dim!r}", f"unknown dimension {dim!r}; use {', '.join(DIMENSIONS)}")
        ln = raw.get("line") or DEFAULT_LINE.get(dim, LINES[-1])
        if ln not in LINES:
            probs.add(line, rid, f"未知 line {ln!r}", f"unknown line {ln!r}; use {', '.join(LINES)}")
        if raw.get("outcome") is not None and raw["outcome"] not in OUTCOMES:
            probs.add(line, rid, f"未知结论 {raw['outcome']!r}", f"unknown outcome {raw['outcome']!r}; use {', '.join(OUTCOMES)}")
        scope = raw.get("scope", "all")
        if scope != "all":
            _check_condition(scope, "scope", probs, line, rid)
        if raw.get("when") is not None:
            _check_condition(raw["when"], "when", probs, line, rid)
        msg_zh, msg_en = _text(raw.get("message", ""), "message", probs, line, rid) if "message" in raw else ("", "")
        title_zh, title_en = _text(raw["title"], "title", probs, line, rid) if "title" in raw else ("", "")
        rules.append(Rule(id=rid, dimension=dim or "", line=ln, citation=str(raw.get("citation", "")),
                          scope=scope, when=raw.get("when"), outcome=raw.get("outcome", ""), message_zh=msg_zh,
                          message_en=msg_en, title_zh=title_zh, title_en=title_en, source_line=line))
    probs.raise_if_any()
    return RulePack(name=str(doc["name"]), version=str(doc["version"]), path=path.resolve(), rules=rules,
                    synthetic=bool(doc.get("synthetic", False)), description=str(doc.get("description", "")))


# ---------------------------------------------------------------------------------------
# evaluation
@dataclass
class Tri:
    """A three-valued truth: True, False or None (unknown), with the reasons behind it."""

    value: bool | None
    reasons: list[str] = field(default_factory=list)


@dataclass
class Facts:
    """What a rule may look at for one site (built by screening from the overlay)."""

    hits: list  # overlay.Hit
    layer_status: dict[str, str]  # role -> ok/empty/failed/outside/gap
    attrs: dict[str, Any]
    derived: dict[str, Any]
    county_code: str | None
    distance_fn: Any = None  # callable(role, filters) -> metres or None
    by_role: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        for h in self.hits:
            self.by_role.setdefault(h.role, []).append(h)


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
          "gap": "站点处没有该图层要素（覆盖缺口）"}.get(status, status)
    return Tri(None, [f"{ROLES.get(role, (role,))[0]}（{role}）：{zh} / layer {role} is {status} at this site"])


def _split(spec) -> tuple[str, dict, dict]:
    spec = {"role": spec} if isinstance(spec, str) else dict(spec)
    role = spec.pop("role")
    opts = {k: spec.pop(k) for k in ("min_share", "within_m") if k in spec}
    return role, spec, opts


def _attr_value(name: str, facts: Facts):
    if name == "industry":
        raw = facts.attrs.get("industry")
        code = facts.derived.get("industry_code")
        if raw is not None and code is None:
            return None, f"行业代码 {raw} 无法识别 / industry code {raw} is not in GB/T 4754-2017"
        return code, f"缺少属性 industry（行业代码）/ attribute industry is missing"
    if name in ("forest_ha", "forest_loss_ha", "stock_loss_tCO2") and facts.derived.get(name) is None:
        status = facts.derived.get("carbon_status")
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
            unknown = [reason for r in results if r.value is None for reason in r.reasons]
            return Tri(None, unknown) if unknown else (_FALSE if decisive else _TRUE)
        return combine
    if op == "not":
        inner = compile_condition(arg)

        def negate(facts):
            r = inner(facts)
            return Tri(None if r.value is None else not r.value, r.reasons)
        return negate
    if op in ("hit", "within"):
        role, filters, opts = _split(arg)
        min_share = float(opts.get("min_share", 0.0))
        match = _matcher(filters)

        def hit(facts):
            unknown = _layer_unknown(role, facts)
            if unknown:
                return unknown
            hits = [h for h in facts.by_role.get(role, ()) if match(h)]
            if op == "hit":
                return Tri(bool(hits) and sum(h.share for h in hits) > min_share)
            return Tri(any(h.share >= 0.999 for h in hits))
        return hit
    if op == "near":
        role, filters, opts = _split(arg)
        within_m = float(opts["within_m"])
        match = _matcher(filters)

        def near(facts):
            unknown = _layer_unknown(role, facts)
            if unknown:
                return unknown
            if any(match(h) for h in facts.by_role.get(role, ())):
                return _TRUE
            dist = facts.distance_fn(role, filters) if facts.distance_fn else None
            return Tri(dist is not None and dist <= within_m)
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
                return Tri(None, [missing_reason])
            return Tri(_compare(comp, value, want))
        return attr
    if op == "county":
        codes = {str(c) for c in arg["in"]}

        def county(facts):
            unknown = _layer_unknown("admin", facts)
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


def apply_rules(pack: RulePack, facts: Facts) -> list[RuleOutcome]:
    """Every rule that fired (its outcome) or could not be decided (needs_info)."""
    fired: list[RuleOutcome] = []
    for rule in pack.rules:
        scope = rule.compiled[0](facts)
        if scope.value is False:
            continue
        when = rule.compiled[1](facts)
        if when.value is False:
            continue
        if scope.value is None or when.value is None:
            reasons = list(dict.fromkeys(scope.reasons + when.reasons))
            fired.append(RuleOutcome(rule, "needs_info", reasons))
        elif when.value:
            fired.append(RuleOutcome(rule, rule.outcome, []))
    return fired


def overall_verdict(outcomes: list[RuleOutcome]) -> str:
    """The most severe outcome that fired; compliant when none did."""
    if not outcomes:
        return "compliant"
    return max((o.outcome for o in outcomes), key=lambda o: SEVERITY[o])


def unit_code_problems(pack: RulePack, unit_codes: set[str]) -> list[str]:
    """Rules that name control-unit codes absent from ``unit_codes`` (the catalog's units)."""
    problems = []
    for rule in pack.rules:
        for code in sorted(unit_codes_in(rule.scope) | unit_codes_in(rule.when)):
            if code not in unit_codes:
                problems.append(f"line {rule.source_line} rule {rule.id}: unit code {code} is not in "
                                f"the catalog's control units")
    return problems
