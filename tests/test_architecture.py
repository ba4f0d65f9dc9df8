"""House rules about how webapp's modules depend on each other, read from the source.

Every module under webapp/ is parsed with ``ast`` (nothing is imported), so a rule
broken anywhere fails here with the file and the import that breaks it:

- the domain layer never imports a door: only ``webapp.api`` imports ``webapp.api``,
  and no services or models module imports views, forms or Flask-WTF;
- ``webapp/domain_errors.py`` and ``webapp/clock.py`` import no door at all;
- no two domains (the first name after ``webapp.``: ``queue``, ``auth``, ``audit``, …)
  depend on each other, directly or round a longer loop, through their domain layer at
  module level. The doors (views, forms, permissions, the API) sit on top and may use any
  domain, so a domain's own page may show another domain's data; what may not happen is
  a domain's rules needing a domain that needs them back;
- only ``webapp/clock.py`` (and ``webapp/config.py``, which parses the settings)
  reads the ``HOSPITAL_TIMEZONE`` setting.

The graph is built from module-level imports: an import inside a function runs
when it is called, not when the module loads, and one under ``if TYPE_CHECKING:``
never runs. The door rules count function-level imports too (a door imported
lazily is still a door), except in the app factory, which wires the doors up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webapp"

# The composition root, which registers every blueprint (the API included), and the error
# handlers, which answer both doors (HTML pages and the API's JSON envelope).
WIRING = {"webapp", "webapp.errors"}
# Door modules by last name, and the third-party door the domain layer must not touch.
DOOR_NAMES = {"views", "forms"}
DOMAIN_LAYER_NAMES = {"services", "models"}
# Modules that every layer may use and that must stay free of doors themselves.
FOUNDATIONS = ("webapp.domain_errors", "webapp.clock")
TIMEZONE_SETTING = "HOSPITAL_TIMEZONE"
TIMEZONE_READERS = {"webapp.clock", "webapp.config"}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, e.g. webapp.queue.moves
    target: str  # the module imported, e.g. webapp.auth.roles (or flask_wtf)
    line: int
    module_level: bool

    def __str__(self) -> str:
        return f"{module_path(self.importer)}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(name: str) -> str:
    path = ROOT.joinpath(*name.split("."))
    if path.is_dir():
        return str((path / "__init__.py").relative_to(ROOT))
    return str(path.with_suffix(".py").relative_to(ROOT))


def is_package(name: str) -> bool:
    return ROOT.joinpath(*name.split(".")).is_dir()


def exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {
    name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], module_level: bool) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement that can run, with whether it runs when the module loads."""
    for node in body:
        yield node, module_level
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.orelse, module_level)
            continue
        inner_level = module_level and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                statements = [child for child in children if isinstance(child, ast.stmt)]
                # except handlers and match cases hold their statements one level down
                for child in children:
                    if isinstance(child, ast.ExceptHandler | ast.match_case):
                        statements.extend(child.body)
                yield from _statements(statements, inner_level)


def _targets(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if node.level:  # relative: from . import x, from ..y import z
        base = importer if is_package(importer) else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    for alias in node.names:
        # from webapp.x import y: y is a module when webapp/x/y(.py) exists, else a name in x
        candidate = f"{source}.{alias.name}"
        yield candidate if source.startswith("webapp") and exists(candidate) else source


def _collect() -> list[Import]:
    found: set[Import] = set()
    for name, tree in TREES.items():
        for node, module_level in _statements(tree.body, True):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(name, node):
                    found.add(Import(name, target, node.lineno, module_level))
    return sorted(found, key=lambda found_import: (found_import.importer, found_import.line))


IMPORTS = _collect()


def domain(name: str) -> str | None:
    """``webapp.queue.views.board`` → ``queue``; None outside webapp or for the app factory."""
    parts = name.split(".")
    if parts[0] != "webapp" or len(parts) < 2:
        return None
    return parts[1]


def is_door(name: str) -> bool:
    parts = name.split(".")
    if parts[0] == "flask_wtf":
        return True
    return parts[0] == "webapp" and (domain(name) == "api" or bool(DOOR_NAMES & set(parts[2:])))


# Door modules that are no views or forms by name: who may open a page.
DOOR_EXTRAS = {"permissions"}


def in_a_door(name: str) -> bool:
    """A module of the doors: the API, any views or forms, the page permissions."""
    return is_door(name) or name.split(".")[-1] in DOOR_EXTRAS


def is_domain_layer(name: str) -> bool:
    return name.split(".")[-1] in DOMAIN_LAYER_NAMES and not is_door(name)


def test_it_tells_module_level_imports_from_lazy_and_type_checking_ones() -> None:
    tree = ast.parse(
        "import a\n"
        "if TYPE_CHECKING:\n    import b\n"
        "try:\n    import c\nexcept ImportError:\n    import d\n"
        "def f():\n    import e\n"
        "class K:\n    import g\n"
    )

    found = {
        alias.name: module_level
        for node, module_level in _statements(tree.body, True)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

    assert found == {"a": True, "c": True, "d": True, "e": False, "g": True}


# ------------------------------------------------------------------ doors


def test_it_reads_every_module_of_the_package() -> None:
    assert "webapp.queue.models" in MODULES and "webapp.api.schemas.common" in MODULES
    assert any(found.target == "webapp.domain_errors" for found in IMPORTS)


def test_only_the_api_and_the_app_factory_import_the_api() -> None:
    offenders = [
        str(found)
        for found in IMPORTS
        if domain(found.target) == "api"
        and domain(found.importer) != "api"
        and found.importer not in WIRING
    ]

    assert offenders == [], "\n".join(offenders)


def test_services_and_models_import_no_views_forms_or_flask_wtf() -> None:
    offenders = [
        str(found) for found in IMPORTS if is_domain_layer(found.importer) and is_door(found.target)
    ]

    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize("foundation", FOUNDATIONS)
def test_the_foundations_import_no_door(foundation: str) -> None:
    assert foundation in MODULES
    offenders = [
        str(found) for found in IMPORTS if found.importer == foundation and is_door(found.target)
    ]

    assert offenders == [], "\n".join(offenders)


def test_the_domain_errors_are_free_of_flask() -> None:
    """Services raise them in a worker or a CLI command too, where there is no request."""
    offenders = [
        str(found)
        for found in IMPORTS
        if found.importer == "webapp.domain_errors"
        and found.target.split(".")[0] in {"flask", "flask_wtf", "werkzeug"}
    ]

    assert offenders == [], "\n".join(offenders)


# ------------------------------------------------------------------ cycles


def domain_graph() -> dict[str, dict[str, list[Import]]]:
    """domain → the domains its domain layer imports at module level → the imports that do it.

    Imports made by the doors (views, forms, permissions, the API) are left out: a door may
    use any domain.
    """
    graph: dict[str, dict[str, list[Import]]] = {}
    for found in IMPORTS:
        source, target = domain(found.importer), domain(found.target)
        if not found.module_level or source is None or target is None or source == target:
            continue
        if in_a_door(found.importer):
            continue
        graph.setdefault(source, {}).setdefault(target, []).append(found)
    return graph


def find_cycle(graph: dict[str, dict[str, list[Import]]]) -> list[str] | None:
    """One cycle of the graph as [a, b, …, a], or None (depth-first, in a stable order)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, {})):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_it_finds_a_planted_cycle() -> None:
    edge = Import("webapp.a.x", "webapp.b.y", 1, True)
    graph = {"a": {"b": [edge]}, "b": {"c": [edge]}, "c": {"a": [edge]}, "d": {"a": [edge]}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert tangled(graph, ["a", "b", "c", "a"]) == {"a", "b", "c"}
    assert find_cycle({"a": {"b": [edge]}, "b": {}}) is None


def tangled(graph: dict[str, dict[str, list[Import]]], cycle: list[str]) -> set[str]:
    """Every domain on some loop through the cycle's first domain (its strong component)."""

    def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for target in edges.get(todo.pop(), set()) - seen:
                seen.add(target)
                todo.append(target)
        return seen

    forward = {source: set(targets) for source, targets in graph.items()}
    backward: dict[str, set[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            backward.setdefault(target, set()).add(source)
    return reachable(cycle[0], forward) & reachable(cycle[0], backward)


def describe_cycle(graph: dict[str, dict[str, list[Import]]], cycle: list[str]) -> str:
    """The cycle, then every import between the domains it entangles, to see what to cut."""
    component = tangled(graph, cycle)
    lines = ["Import cycle " + " → ".join(cycle)]
    lines.append("All module-level imports between " + ", ".join(sorted(component)) + ":")
    for source in sorted(component):
        for target in sorted(set(graph.get(source, {})) & component):
            lines.append(f"  {source} → {target}")
            lines.extend(f"    {found}" for found in graph[source][target])
    return "\n".join(lines)


def test_no_two_domains_import_each_other_at_module_level() -> None:
    graph = domain_graph()
    cycle = find_cycle(graph)

    if cycle is not None:
        pytest.fail(describe_cycle(graph, cycle))


# ------------------------------------------------------------------ time zone


def test_only_the_clock_reads_the_hospital_time_zone_setting() -> None:
    readers = sorted(
        f"{module_path(name)}:{node.lineno}"
        for name, tree in TREES.items()
        if name not in TIMEZONE_READERS
        for node in ast.walk(tree)
        if _mentions_timezone_setting(node)
    )

    assert readers == [], "\n".join(readers)
    assert any(_mentions_timezone_setting(node) for node in ast.walk(TREES["webapp.clock"]))


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ('current_app.config["HOSPITAL_TIMEZONE"]', True),
        ('app.config.get("HOSPITAL_TIMEZONE", "UTC")', True),
        ('"Set HOSPITAL_TIMEZONE to an IANA name."', False),
        ('{"HOSPITAL_TIMEZONE": "UTC"}', False),
    ],
)
def test_it_tells_reading_the_setting_from_naming_it(source: str, reads: bool) -> None:
    assert any(_mentions_timezone_setting(node) for node in ast.walk(ast.parse(source))) is reads


def _mentions_timezone_setting(node: ast.AST) -> bool:
    """``config["HOSPITAL_TIMEZONE"]``, ``config.get("HOSPITAL_TIMEZONE")`` or the like.

    Only string constants used as a subscript key or a call argument count, so a
    docstring or message that names the setting (for people to read) does not.
    """
    if isinstance(node, ast.Subscript):
        keys = [node.slice]
    elif isinstance(node, ast.Call):
        keys = [*node.args, *(keyword.value for keyword in node.keywords)]
    else:
        return False
    return any(isinstance(key, ast.Constant) and key.value == TIMEZONE_SETTING for key in keys)
