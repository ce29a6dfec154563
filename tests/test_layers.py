"""Imports point inward: the pure modules never import an edge (HTTP, database, Slack, settings)
and never read a clock; nothing outside `budgetbot.ionq` imports its private modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "budgetbot"
PURE = [
    "rules/models.py",
    "rules/periods.py",
    "rules/engine.py",
    "rules/forecast.py",
    "rules/findings.py",
    "rules/kinds.py",
    "rules/planner.py",
    "rules/targets.py",
    "rules/queued.py",
    "rules/anomalies.py",
    "rules/budget.py",
    "rules/policy_fields.py",
    "rules/yaml_source.py",
    "rules/policy_errors.py",
    "rules/validation_messages.py",
    "rules/people.py",
    "render/text.py",
    "render/terminal.py",
    "render/messages.py",
    "render/blocks.py",
    "render/alert_blocks.py",
    "render/action_blocks.py",
    "render/block_kit.py",
    "render/budgets.py",
    "render/digest.py",
    "render/home.py",
    "render/slack_text.py",
    "render/chart.py",
    "render/spend_chart.py",
    "reports/build.py",
    "reports/digest.py",
    "reports/grammar.py",
    "reports/queue.py",
    "render/queue.py",
    "usage/model.py",
    "usage/measures.py",
    "queue/model.py",
    "actions/__init__.py",
    "actions/model.py",
    "actions/plan.py",
    "actions/text.py",
    "ledger/model.py",
    "ledger/reconcile.py",
    "usage/normalize.py",
    "alerts/decide.py",
    "alerts/resolve.py",
]
EDGES = (
    "httpx",
    "sqlalchemy",
    "slack_sdk",
    "slack_bolt",
    "psycopg",
    "budgetbot.settings",
    "budgetbot.store",
    "budgetbot.slack",
    "waitress",
    "requests",
)
CLOCKS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("dt", "now"),
}
#: Functions of the `time` module that read a clock (datetime's `time` is a class, not one).
CLOCK_NAMES = {"time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"}


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_no_edge(name):
    path = ROOT / name
    assert path.exists(), name
    crossing = [m for m in imports(path) if m.startswith(EDGES)]
    assert crossing == [], f"{name} imports {crossing}"


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_read_no_clock(name):
    tree = ast.parse((ROOT / name).read_text())
    calls = [
        (
            n.func.value.attr if isinstance(n.func.value, ast.Attribute) else n.func.value.id,
            n.func.attr,
        )
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name | ast.Attribute)
    ]
    assert not [c for c in calls if c in CLOCKS], name
    # `from time import monotonic` and the like, called bare.
    imported = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "time"
        for a in n.names
        if a.name in CLOCK_NAMES
    }
    assert not imported, f"{name} imports clock functions {imported}"


def test_nobody_imports_ionq_private_modules():
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "ionq":
            continue
        private = [m for m in imports(path) if m.startswith("budgetbot.ionq._")]
        assert private == [], f"{path} imports {private}"


def test_pure_modules_pull_in_no_edge_even_indirectly():
    """Package imports can drag an edge in: check what a fresh interpreter really loads."""
    import subprocess
    import sys

    modules = ", ".join(f"budgetbot.{p[:-3].replace('/', '.')}" for p in PURE)
    code = (
        f"import sys, importlib\nfor m in [{', '.join(repr(m) for m in modules.split(', '))}]:"
        "\n    importlib.import_module(m)\n"
        "print(sorted(m for m in ('httpx', 'tenacity', 'sqlalchemy', 'slack_sdk', 'slack_bolt',"
        " 'psycopg', 'budgetbot.settings', 'budgetbot.store') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """budgetbot's modules and the budgetbot modules each imports, anywhere in its body.

    Imports under ``if TYPE_CHECKING:`` and inside functions count: a circle hidden that way
    still ties the modules together. ``from package import name`` is an edge to the submodule
    ``package.name`` when there is one, else to the package.
    """
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    found.add(sub if sub in modules else module)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    import graphlib

    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_circle_between_modules():
    """Every package's modules import one another one way only (slack/app.py and its listeners
    once imported each other through ``Deps``)."""
    graph = import_graph()
    assert len(graph) > 50 and "budgetbot.slack.app" in graph
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_no_import_circle_between_packages():
    """The floors are one-way: cli -> slack -> alerts -> render -> reports -> rules -> usage."""

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, imported in import_graph().items():
        packages.setdefault(package(module), set()).update(
            package(m) for m in imported if package(m) != package(module)
        )
    assert _cycle(packages) is None, f"import circle: {' -> '.join(_cycle(packages) or [])}"


def test_the_circle_law_sees_a_circle(tmp_path, monkeypatch):
    """The law can fail: two modules importing each other (one only for type checking)."""
    package = tmp_path / "budgetbot" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from budgetbot.pkg.a import A\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path / "budgetbot")
    assert _cycle(import_graph()) is not None


TESTS = ROOT.parent / "tests"
#: The one polling helper, and the fakes whose latency stands for a slow server.
MAY_SLEEP = {"support.py", "fakes/slack_api.py"}


def test_tests_never_sleep_on_the_wall_clock():
    """Time is injected: a test waits for a condition (``tests.support.wait_for``) or a barrier,
    never for a fixed time."""
    sleeping = []
    for path in sorted(TESTS.rglob("*.py")):
        name = str(path.relative_to(TESTS))
        if name in MAY_SLEEP:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "sleep"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("time", "asyncio")
            ):
                sleeping.append(f"{name}:{node.lineno}")
    assert sleeping == []


def test_child_process_environments_come_from_one_helper():
    """A child process gets ``tests.support.process_env`` (the developer's own settings never
    leak in), not a hand-built copy of ``os.environ``."""
    copies = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in ("support.py", "test_layers.py")
        and "os.environ.items()" in path.read_text()
    ]
    assert copies == []


def test_listener_modules_lean_on_no_other_listener():
    """A listener module binds and handles; what two listeners share (the reply sentences, the
    Home view, ``Deps``) lives outside ``slack/listeners/``, so no listener imports another."""
    graph = import_graph()
    listeners = [m for m in graph if m.startswith("budgetbot.slack.listeners.")]
    assert len(listeners) >= 3
    for module in listeners:
        crossing = sorted(m for m in graph[module] if m.startswith("budgetbot.slack.listeners"))
        assert crossing == [], f"{module} imports {crossing}"
