"""Small text inputs (catalogs, rule packs, side tables, result files) read the one safe way.

Every failure is a one-line message, never a traceback:

- a path is probed without letting ``OSError`` escape (a 300-digit "file name" is ENAMETOOLONG,
  a loop of symlinks ELOOP, a folder without permission EACCES): :func:`path_exists`;
- encodings are detected like site files: UTF-8 (with or without BOM), UTF-16 with a BOM, else
  GBK/GB18030; text that is none of them is refused by name: :func:`read_text`;
- sizes and nesting are bounded: a YAML document may not expand (through aliases, the
  "billion laughs") beyond :data:`MAX_YAML_NODES` nodes nor nest deeper than :data:`MAX_DEPTH`;
  a JSON document may not nest deeper than :data:`MAX_DEPTH` either: :func:`load_yaml`,
  :func:`load_json`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from zoning.errors import InputFileNotFound, UnreadableInput, ZoningError

#: largest catalog / rule pack / side table read into memory (bytes)
MAX_TEXT_BYTES = 20 * 1024 * 1024
#: most YAML nodes a document may hold once its aliases are expanded (a real rule pack has ~2,000)
MAX_YAML_NODES = 200_000
#: deepest nesting of a YAML or JSON document (a real rule pack nests < 15 levels)
MAX_DEPTH = 100

ErrorFactory = Callable[[str, str], ZoningError]


def path_exists(path: Path | str) -> bool:
    """``Path(path).exists()`` that answers False instead of raising (ENAMETOOLONG, ELOOP, EACCES, NUL bytes)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def path_is_file(path: Path | str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def path_is_dir(path: Path | str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def os_reason(exc: BaseException) -> str:
    """The short reason of an OSError (``No space left on device``), else its first line."""
    reason = getattr(exc, "strerror", None)
    if reason:
        return str(reason)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def decode_text(raw: bytes) -> str | None:
    """Text of ``raw``: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (a superset of GBK); None if none fits."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        codecs = ("utf-16",)
    else:
        codecs = ("utf-8-sig", "gb18030")
    for codec in codecs:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def read_text(path: Path | str, what_zh: str, what_en: str, *, error: ErrorFactory = UnreadableInput,
              max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The text of a small input file, its encoding detected; one-line messages for every failure.

    ``what_zh``/``what_en`` name the file's role ("规则包" / "rule pack"); ``error`` makes the
    exception (a ZoningError subclass taking ``zh, en``).
    """
    path = Path(path)
    if not path_exists(path):
        raise InputFileNotFound(f"{what_zh}不存在：{path}", f"{what_en} not found: {path}")
    try:
        if path.is_dir():
            raise error(f"{what_zh} {path} 是目录，不是文件", f"{what_en} {path} is a folder, not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{what_zh} {path.name} 过大（{size / 1e6:.1f} MB，上限 {max_bytes / 1e6:.0f} MB）",
                        f"{what_en} {path.name} is too large ({size / 1e6:.1f} MB; the limit is "
                        f"{max_bytes / 1e6:.0f} MB)")
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"无法读取{what_zh} {path}：{os_reason(exc)}", f"cannot read {what_en} {path}: {os_reason(exc)}") \
            from None
    if len(raw) > max_bytes:
        raise error(f"{what_zh} {path.name} 过大（上限 {max_bytes / 1e6:.0f} MB）",
                    f"{what_en} {path.name} is too large (the limit is {max_bytes / 1e6:.0f} MB)")
    text = decode_text(raw)
    if text is None:
        raise error(f"{what_zh} {path.name} 既不是 UTF-8 也不是 GBK 编码的文本",
                    f"{what_en} {path.name} is neither UTF-8 nor GBK text")
    return text


def _yaml_shape(root) -> tuple[int, int]:
    """(nodes once aliases are expanded, depth) of a composed YAML node graph, without expanding it.

    Aliases are the same node object reused, so sizes are memoised per node; a node that
    contains itself (a recursive alias) counts as unbounded. Iterative: no recursion limit.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        if done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), 10 ** 12)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            continue
        if key in size:
            continue
        if key in on_path:
            return 10 ** 12, 10 ** 6  # recursive alias: unbounded
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                return 10 ** 12, 10 ** 6
            if id(child) not in size:
                stack.append((child, False))
    return size.get(id(root), 0), depth.get(id(root), 0)


def load_yaml(text: str, name: str, *, error: ErrorFactory, max_nodes: int = MAX_YAML_NODES,
              max_depth: int = MAX_DEPTH) -> Any:
    """``yaml.safe_load(text)`` with bounds: size after alias expansion and nesting depth.

    ``name`` (a file name) starts every message. Only the safe YAML types are built (no
    ``!!python/...`` tags: those are refused by name).
    """
    def where(exc) -> tuple[str, str]:
        mark = getattr(exc, "problem_mark", None)
        line = f"第 {mark.line + 1} 行 " if mark else ""
        line_en = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return line, f"{line_en}{problem}"

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        zh, en = where(exc)
        raise error(f"{name} {zh}YAML 语法错误", f"{name}: YAML syntax error ({en})") from None
    except RecursionError:
        raise error(f"{name} 嵌套过深（上限 {max_depth} 层）", f"{name} nests too deeply (the limit is {max_depth} "
                    f"levels)") from None
    if root is None:
        return None
    nodes, depth = _yaml_shape(root)
    if depth > max_depth:
        raise error(f"{name} 嵌套过深（{depth if depth < 10 ** 6 else '无限'} 层，上限 {max_depth} 层）",
                    f"{name} nests too deeply ({depth if depth < 10 ** 6 else 'recursive aliases'}; the limit is "
                    f"{max_depth} levels)")
    if nodes > max_nodes:
        raise error(f"{name} 展开别名后过大（超过 {max_nodes:,} 个节点；别名炸弹？）",
                    f"{name} is too large once its aliases are expanded (more than {max_nodes:,} nodes; an alias "
                    f"bomb?)")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:  # e.g. an unsafe tag such as !!python/object
        zh, en = where(exc)
        raise error(f"{name} {zh}YAML 内容无效", f"{name}: invalid YAML content ({en})") from None
    except RecursionError:
        raise error(f"{name} 嵌套过深", f"{name} nests too deeply") from None


def mapping_entries(doc: Any, key: str, allowed: set[str],
                    bad: Callable[[str, str, str], ZoningError]) -> Iterator[tuple[int, str, dict]]:
    """The entries of the list ``doc[key]`` of a YAML document as ``(number, where, entry)``,
    numbered from 1, each checked to be a mapping with no key outside ``allowed``.

    ``bad(where, zh, en)`` makes the exception raised for a document of the wrong shape (it names
    the file); ``where`` is ``"top level"`` or ``"<key>[<number>]"``.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise bad("top level", f"需要包含 {key} 列表", f"expected a mapping with a '{key}' list")
    for i, entry in enumerate(doc[key], 1):
        where = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise bad(where, "应为映射", "each entry must be a mapping")
        unknown = sorted(set(map(str, entry)) - allowed)
        if unknown:
            raise bad(where, f"未知字段 {unknown}", f"unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}")
        yield i, where, entry


def json_depth(text: str) -> int:
    """Deepest bracket nesting of JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json(text: str, name: str, *, error: ErrorFactory, max_depth: int = MAX_DEPTH) -> Any:
    """Strict JSON (no NaN/Infinity), nesting bounded; one-line messages."""
    if json_depth(text) > max_depth:
        raise error(f"{name} 嵌套过深（上限 {max_depth} 层）", f"{name} nests too deeply (the limit is {max_depth} levels)")

    def refuse(constant):
        raise ValueError(f"{constant} is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{name} 不是有效的 JSON：{first}", f"{name} is not valid JSON: {first}") from None
