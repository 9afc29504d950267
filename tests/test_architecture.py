"""The package's shape, checked: imports run one way (read → analyse → render → interfaces),
there is no import cycle, and analysis code spells out no domain word the vocabulary owns."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zoning import vocabulary

PACKAGE = Path(__file__).resolve().parents[1] / "zoning"

#: lowest first: a module may import modules of its own rank or lower, never higher
RANKS = [
    ("zoning._version", "zoning.errors", "zoning.vocabulary", "zoning.escape", "zoning.data", "zoning.schema"),
    ("zoning.geo",),
    ("zoning.io",),
    ("zoning.carbon",),
    ("zoning.screening",),
    ("zoning.engines",),
    ("zoning.render",),
    ("zoning.export",),
    ("zoning.sample",),
    ("zoning.api",),
    ("zoning.cli", "zoning.cli.serve", "zoning.service", "zoning.__main__", "zoning"),
]
ANALYSIS = ("zoning.geo", "zoning.io", "zoning.carbon", "zoning.screening", "zoning.engines")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def rank_of(module: str) -> int:
    best, best_len = None, -1
    for rank, prefixes in enumerate(RANKS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    assert best is not None, f"{module} has no rank: add its package to RANKS"
    return best


def _in_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every zoning module ``path`` imports, at module level or inside functions (not TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if _in_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("zoning"):
                continue
            while name and name not in modules:  # an imported function: its module
                name = name.rpartition(".")[0]
            if name and name != me:
                out.add(name)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    paths = [p for p in PACKAGE.rglob("*.py")]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def test_no_lower_layer_imports_a_higher_one(graph):
    upward = sorted(f"{a} (rank {rank_of(a)}) imports {b} (rank {rank_of(b)})"
                    for a, deps in graph.items() for b in deps
                    if rank_of(b) > rank_of(a) and not b == "zoning")
    # importing the package root from inside it means importing the public API: always upward
    upward += sorted(f"{a} imports the package root" for a, deps in graph.items() if "zoning" in deps
                     and a not in ("zoning.cli", "zoning.__main__") and not a.startswith("zoning.cli."))
    assert not upward, "\n".join(upward)


def test_no_import_cycles(graph):
    # Tarjan's strongly connected components over the module graph
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w == "zoning" or w.endswith("__init__"):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checker_sees_cycles_and_upward_imports(tmp_path):
    """The two checks above can fail: a module that imports upward is caught."""
    modules = {"zoning.geo.crs", "zoning.render.labels", "zoning.geo"}
    probe = tmp_path / "zoning" / "geo" / "crs.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from zoning.render.labels import t\n\ndef f():\n    from .. import render\n", encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "zoning"
    try:
        found = imports_of(probe, modules)
    finally:
        PACKAGE = saved
    assert "zoning.render.labels" in found
    assert rank_of("zoning.render.labels") > rank_of("zoning.geo.crs")


def _domain_words() -> set[str]:
    words = set(vocabulary.OUTCOME_ZH.values()) | set(vocabulary.LINES) | set(vocabulary.DIMENSIONS)
    words |= {r.zh for r in vocabulary.ROLES.values()} | set(vocabulary.UNIT_CLASSES)
    words |= set(vocabulary.NATURE_AREA_KINDS) | set(vocabulary.WATER_SOURCE_KINDS)
    words |= set(vocabulary.LAYER_STATUS_ZH.values())
    return words


def test_analysis_modules_spell_out_no_domain_word():
    """Filters, class names and labels come from zoning.vocabulary; analysis code holds none
    as a literal of its own (longer messages that mention one are fine)."""
    words = _domain_words()
    found = []
    for path in PACKAGE.rglob("*.py"):
        if not module_name(path).startswith(ANALYSIS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in words:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


def test_analysis_modules_hold_no_label_tables():
    """No dict of Chinese labels (OUTCOME_ZH-style) outside the vocabulary and the renderers."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if not module_name(path).startswith(ANALYSIS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith(("_ZH", "_EN"))
                                                    for t in node.targets):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not found, found


def test_every_exception_class_lives_in_errors():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception", "Violation", "Problem"))
                                                  or b.id in ("Exception", "ValueError", "RuntimeError", "OSError")))
                    for b in node.bases):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not found, found


def test_cli_modules_are_thin():
    """Each command module is options plus a few lines over library calls: no module-level
    helper that computes, and no command body longer than a screen."""
    for path in (PACKAGE / "cli").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and path.name != "_common.py":
                body_lines = node.body[-1].end_lineno - node.body[0].lineno + 1
                assert body_lines <= 40, f"{path.name}:{node.name} has {body_lines} lines"
