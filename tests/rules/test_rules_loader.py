"""The policy loader: every error in every file, each at its file, line and column."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from budgetbot.rules import (
    PolicyError,
    PolicyLoadError,
    PolicySet,
    format_errors,
    load_policies,
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``policies/`` folder in the working directory, so paths read as users see them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    return Path("policies")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors_of(path: str | Path) -> list[PolicyError]:
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    return raised.value.errors


def where(errors: list[PolicyError]) -> list[tuple[str, int, int, str]]:
    return [(e.file, e.line, e.column, e.field) for e in errors]


VALID = """
policies:
  - name: chem-monthly            # unique across all files, [a-z0-9-]
    description: Chemistry team QPU budget
    scope: project
    match: ["Quantum Chem*"]
    each: false
    period: month
    budget: {usd: 5000}
    alert_at: [50, 80, 100]
    forecast_at: [100]
    pace_at: [125]
    channel: "#quantum-spend"
    mention: ["@chem-leads", "alice@example.org"]
  - name: org-quarter
    scope: organization
    period: quarter
    budget:
      qpu_hours: 2.5
anomalies:
  - name: project-spike
    scope: project
    window: 14d
    factor: 3
    min_usd: 50
    channel: "#quantum-spend"
digests:
  - name: weekly
    schedule: "0 9 * * MON"
    timezone: Europe/Berlin
    channel: "#quantum-spend"
    top: 10
"""


def test_valid_example_loads_with_sources(folder: Path) -> None:
    write(folder, "chem.yaml", VALID)
    write(
        folder,
        "users.yml",
        "policies:\n  - name: per-user\n    scope: user\n    each: true\n"
        "    budget: {jobs: 1000}\n",
    )
    write(folder, "notes.txt", "not: [a policy")  # other files in the folder are ignored

    loaded = load_policies(folder)

    assert isinstance(loaded, PolicySet)
    assert loaded.files == ("policies/chem.yaml", "policies/users.yml")
    assert [p.name for p in loaded.policies] == ["chem-monthly", "org-quarter", "per-user"]
    assert [p.source for p in loaded.policies] == [
        "policies/chem.yaml:2",
        "policies/chem.yaml:14",
        "policies/users.yml:2",
    ]
    assert loaded.anomalies[0].source == "policies/chem.yaml:20"
    assert loaded.digests[0].source == "policies/chem.yaml:27"

    chem = loaded.policies[0]
    assert chem.budget.measure == "usd"
    assert chem.budget.amount == Decimal(5000)
    assert chem.alert_at == [Decimal(50), Decimal(80), Decimal(100)]
    assert chem.match == ["Quantum Chem*"]
    assert chem.mention == ["@chem-leads", "alice@example.org"]
    assert loaded.policies[1].budget.amount == Decimal("2.5")
    assert loaded.policies[1].alert_at == [Decimal(80), Decimal(100)]  # the default
    assert loaded.policies[2].each is True
    assert loaded.anomalies[0].window_days == 14
    assert loaded.digests[0].timezone == "Europe/Berlin"


def test_single_file_and_empty_file(folder: Path) -> None:
    single = write(folder, "chem.yaml", VALID)
    assert len(load_policies(single).policies) == 2
    assert len(load_policies(str(single)).digests) == 1

    empty = write(folder, "empty.yaml", "")
    assert load_policies(empty) == PolicySet(files=("policies/empty.yaml",))
    write(folder, "comments.yaml", "# nothing here yet\n")
    write(folder, "sections.yaml", "policies:\nanomalies: []\n")
    assert len(load_policies(folder).policies) == 2


def test_acceptance_five_errors_across_files(folder: Path) -> None:
    write(
        folder,
        "chem.yaml",
        """
        policies:
          - name: chem-monthly
            description: Chemistry team QPU budget
            scope: project
            match: ["Quantum Chem*"]
            budget: {usd: 5000}
            alert_at: [120]
        """,
    )
    write(
        folder,
        "team.yaml",
        """
        policies:
          - name: team-weekly
            scope: user
            period: week
            budget: {qpu_hours: 2.5}
            alert_a: [50, 100]
          - name: chem-monthly
            scope: organization
            budget: {jobs: 100}
        digests:
          - name: weekly
            schedule: "0 25 * * MON"
            timezone: Europe/Berln
        """,
    )

    errors = errors_of(folder)

    assert where(errors) == [
        ("policies/chem.yaml", 7, 15, "policies[0].alert_at"),
        ("policies/team.yaml", 6, 5, "policies[0]"),
        ("policies/team.yaml", 7, 5, "policies[1].name"),
        ("policies/team.yaml", 12, 15, "digests[0].schedule"),
        ("policies/team.yaml", 13, 15, "digests[0].timezone"),
    ]
    lines = [str(e) for e in errors]
    assert (
        lines[0] == "policies/chem.yaml:7:15: policies[0].alert_at (chem-monthly): 120 is over 100"
    )
    assert lines[1] == (
        "policies/team.yaml:6:5: policies[0] (team-weekly): "
        "unknown key 'alert_a'; did you mean 'alert_at'?"
    )
    assert lines[2] == (
        "policies/team.yaml:7:5: policies[1].name: "
        "'chem-monthly' is already defined at policies/chem.yaml:2:5"
    )
    assert "not a valid cron expression" in lines[3]
    assert "'0 25 * * MON'" in lines[3]
    assert lines[4] == (
        "policies/team.yaml:13:15: digests[0].timezone (weekly): "
        "unknown timezone 'Europe/Berln'; did you mean 'Europe/Berlin'?"
    )

    report = format_errors(errors)
    assert report.splitlines()[:5] == lines
    assert report.splitlines()[-1] == "5 errors in 2 files"


def test_names_are_one_namespace_across_sections(folder: Path) -> None:
    write(
        folder,
        "a.yaml",
        """
        digests:
          - name: shared
            schedule: "@daily"
        policies:
          - name: shared
            scope: organization
            budget: {usd: 10}
        """,
    )
    errors = errors_of(folder)
    assert [str(e) for e in errors] == [
        "policies/a.yaml:5:5: policies[0].name: 'shared' is already defined at policies/a.yaml:2:5"
    ]


def test_duplicate_yaml_key_is_refused_at_second_occurrence(folder: Path) -> None:
    write(
        folder,
        "dup.yaml",
        """
        policies:
          - name: chem-monthly
            scope: project
            budget: {usd: 100}
            scope: user
        """,
    )
    errors = errors_of(folder)
    assert where(errors) == [("policies/dup.yaml", 5, 5, "policies[0].scope")]
    assert errors[0].name == "chem-monthly"
    assert "duplicate key 'scope'" in errors[0].message
    assert "line 3:5" in errors[0].message


def test_duplicate_top_level_key(folder: Path) -> None:
    write(folder, "dup.yaml", "policies: []\ndigests: []\npolicies: []\n")
    assert where(errors_of(folder)) == [("policies/dup.yaml", 3, 1, "policies")]


def test_unknown_top_level_key_suggests(folder: Path) -> None:
    write(folder, "typo.yaml", "polices:\n  - name: x\n")
    errors = errors_of(folder)
    assert [str(e) for e in errors] == [
        "policies/typo.yaml:1:1: unknown key 'polices'; did you mean 'policies'?"
    ]


def test_file_shape_errors(folder: Path) -> None:
    write(folder, "list.yaml", "- a\n- b\n")
    write(folder, "mapping.yaml", "anomalies: {name: spike}\n")
    errors = errors_of(folder)
    assert where(errors) == [
        ("policies/list.yaml", 1, 1, ""),
        ("policies/mapping.yaml", 1, 12, "anomalies"),
    ]
    assert "must be a mapping with keys policies, anomalies, digests" in errors[0].message
    assert "must be a list" in errors[1].message


def test_yaml_syntax_error_has_position_and_other_files_still_checked(folder: Path) -> None:
    write(folder, "a.yaml", "policies:\n  - name: a\n   scope: project\n")
    write(folder, "b.yaml", "policies:\n  - name: b\n    scope: team\n    budget: {usd: 1}\n")
    errors = errors_of(folder)
    assert where(errors) == [
        ("policies/a.yaml", 3, 4, ""),
        ("policies/b.yaml", 3, 12, "policies[0].scope"),
    ]
    assert errors[0].message.startswith("YAML syntax error: ")
    assert str(errors[1]) == (
        "policies/b.yaml:3:12: policies[0].scope (b): must be one of project, user, "
        "organization (got 'team')"
    )


def test_unclosed_flow_sequence_is_a_syntax_error(folder: Path) -> None:
    write(folder, "a.yaml", "policies: [\n")
    errors = errors_of(folder)
    assert len(errors) == 1
    assert errors[0].line >= 1
    assert errors[0].message.startswith("YAML syntax error")


def test_value_errors_point_at_values_and_are_humane(folder: Path) -> None:
    write(
        folder,
        "bad.yaml",
        """
        policies:
          - name: Chem Monthly
            scope: projects
            budget:
              usd: -5
            each: maybe
            forecast_at: [100, 90]
          - just a string
          - name: no-budget
            scope: project
        """,
    )
    errors = errors_of(folder)
    got = {(e.line, e.column, e.field): e.message for e in errors}
    assert got == {
        (2, 11, "policies[0].name"): "must use only lowercase letters, digits and '-' "
        "(got 'Chem Monthly')",
        (3, 12, "policies[0].scope"): "must be one of project, user, organization "
        "(got 'projects'); did you mean 'project'?",
        (5, 12, "policies[0].budget.usd"): "must be greater than 0 (got -5)",
        (6, 11, "policies[0].each"): "must be true or false (got 'maybe')",
        (7, 18, "policies[0].forecast_at"): "must be in strictly ascending order "
        "(90 comes after 100)",
        (8, 5, "policies[1]"): "must be a mapping of keys (got 'just a string')",
        (9, 5, "policies[2]"): "missing required key 'budget'",
    }
    usd = next(e for e in errors if e.field == "policies[0].budget.usd")
    assert str(usd) == (
        "policies/bad.yaml:5:12: policies[0].budget.usd (Chem Monthly): "
        "must be greater than 0 (got -5)"
    )


def test_each_and_match_rules_through_the_loader(folder: Path) -> None:
    write(
        folder,
        "org.yaml",
        """
        policies:
          - name: org
            scope: organization
            match: ["*"]
            each: true
            budget: {usd: 100}
        """,
    )
    errors = errors_of(folder)
    assert where(errors) == [
        ("policies/org.yaml", 4, 12, "policies[0].match"),
        ("policies/org.yaml", 5, 11, "policies[0].each"),
    ]
    assert all("not allowed with scope 'organization'" in e.message for e in errors)


def test_unknown_nested_key_suggests_from_the_nested_model(folder: Path) -> None:
    write(
        folder,
        "b.yaml",
        "policies:\n  - name: b\n    scope: user\n    budget: {usd: 1, jbos: 2}\n",
    )
    errors = errors_of(folder)
    assert [str(e) for e in errors] == [
        "policies/b.yaml:4:22: policies[0].budget (b): unknown key 'jbos'; did you mean 'jobs'?"
    ]


def test_anchors_and_merge_keys(folder: Path) -> None:
    write(
        folder,
        "m.yaml",
        """
        policies:
          - &base
            name: base
            scope: project
            budget: {usd: 10}
          - <<: *base
            name: derived
            scope: user
        """,
    )
    loaded = load_policies(folder)
    assert [(p.name, p.scope) for p in loaded.policies] == [
        ("base", "project"),
        ("derived", "user"),
    ]


def test_unsupported_tag_is_reported_once(folder: Path) -> None:
    write(folder, "t.yaml", "policies:\n  - !Ref foo\n")
    errors = errors_of(folder)
    assert [str(e) for e in errors] == [
        "policies/t.yaml:2:5: policies[0]: unsupported YAML tag '!Ref'"
    ]


def test_missing_path_is_one_error(folder: Path) -> None:
    errors = errors_of("nowhere")
    assert len(errors) == 1
    assert str(errors[0]) == "nowhere: no such file or folder"
    assert format_errors(errors) == "nowhere: no such file or folder\n1 error in 1 file"


def test_format_errors_sorts_by_file_then_line() -> None:
    errors = [
        PolicyError("b.yaml", 1, 1, "policies", "z"),
        PolicyError("a.yaml", 10, 3, "policies[0].name", "y", name="x"),
        PolicyError("a.yaml", 2, 5, "", "x"),
    ]
    assert format_errors(errors) == "\n".join(
        [
            "a.yaml:2:5: x",
            "a.yaml:10:3: policies[0].name (x): y",
            "b.yaml:1:1: policies: z",
            "3 errors in 2 files",
        ]
    )
    raised = PolicyLoadError(errors)
    assert [e.file for e in raised.errors] == ["a.yaml", "a.yaml", "b.yaml"]
    assert str(raised) == format_errors(errors)
