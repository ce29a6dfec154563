"""Imports point inward: the pure modules never import an edge (HTTP, database, Slack, settings)
and never read a clock; nothing outside `budgetbot.ionq` imports its private modules."""

from __future__ import annotations

import ast
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
    "rules/anomalies.py",
    "rules/budget.py",
    "rules/policy_fields.py",
    "render/text.py",
    "render/terminal.py",
    "render/messages.py",
    "render/blocks.py",
    "render/alert_blocks.py",
    "render/block_kit.py",
    "render/budgets.py",
    "render/digest.py",
    "render/home.py",
    "render/slack_text.py",
    "render/chart.py",
    "reports/build.py",
    "reports/digest.py",
    "reports/grammar.py",
    "usage/model.py",
    "usage/measures.py",
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
