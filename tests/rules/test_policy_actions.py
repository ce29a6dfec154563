"""A policy's ``actions``: validated at their own keys (file, line, field), described by the
schema, loaded as typed values."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from budgetbot.rules import PolicyLoadError, load_policies
from budgetbot.rules.models import Action, Policy

GOOD = """
policies:
  - name: chem-cap
    scope: project
    match: ["Quantum Chem"]
    each: true
    budget: {usd: 5000}
    alert_at: [80, 100]
    committed_at: [100]
    actions:
      - at: 100
        of: committed
        do: cancel-queued
        approval: manual
        approvers: ["@lab-managers", "U0123ABCD", "alice@example.org"]
      - at: 100
        approval: automatic
"""

BAD = """
policies:
  - name: org-cap
    scope: organization
    budget: {usd: 5000}
    alert_at: [80, 100]
    actions:
      - at: 90
        do: cancel-queued
  - name: chem-cap
    scope: project
    budget: {usd: 5000}
    committed_at: [100]
    actions:
      - at: 120
        of: committed
        approval: automatic
  - name: typo-cap
    scope: user
    budget: {usd: 5000}
    actions:
      - at: 100
        of: commited
"""


def test_actions_load_with_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "chem.yaml"
    path.write_text(textwrap.dedent(GOOD))
    [policy] = load_policies(path).policies
    manual, automatic = policy.actions
    assert manual == Action(
        at=Decimal(100),
        of="committed",
        do="cancel-queued",
        approval="manual",
        approvers=["@lab-managers", "U0123ABCD", "alice@example.org"],
    )
    assert (automatic.of, automatic.do, automatic.approval, automatic.approvers) == (
        "spend",
        "cancel-queued",
        "automatic",
        [],
    )


def test_every_action_error_names_its_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "caps.yaml"
    path.write_text(textwrap.dedent(BAD))
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    shown = [(e.line, e.field, e.message) for e in raised.value.errors]
    assert shown == [
        (
            8,
            "policies[0].actions[0].approvers",
            "manual approval needs approvers: Slack user ids, '@user-groups' or e-mails",
        ),
        (
            8,
            "policies[0].actions[0].at",
            "90 is not one of the policy's alert_at levels (80, 100); an action of spend acts"
            " at one of them",
        ),
        (
            9,
            "policies[0].actions[0].do",
            "only project and user budgets may cancel jobs (scope is 'organization')",
        ),
        (
            15,
            "policies[1].actions[0].at",
            "120 is not one of the policy's committed_at levels (100); an action of committed"
            " acts at one of them",
        ),
        (
            23,
            "policies[2].actions[0].of",
            "must be one of spend, committed (got 'commited'); did you mean 'committed'?",
        ),
    ]
    assert all(str(e).startswith(f"{path.as_posix()}:") for e in raised.value.errors)


def test_an_action_is_closed_to_unknown_keys_and_other_verbs() -> None:
    base = {"name": "p", "scope": "user", "budget": {"usd": 10}}
    with pytest.raises(ValidationError):
        Policy.model_validate({**base, "actions": [{"at": 100, "approvers": ["U1"], "x": 1}]})
    with pytest.raises(ValidationError):
        Policy.model_validate({**base, "actions": [{"at": 100, "do": "delete-project"}]})
    ok = Policy.model_validate({**base, "actions": [{"at": 100, "approvers": ["U1"]}]})
    assert ok.actions[0].at == Decimal(100)
