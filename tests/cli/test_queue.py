"""``budgetbot queue``: its help, its usage errors, and the command end to end against the
simulator over HTTP (the real queue reader, project keys from ``IONQ_PROJECT_KEYS``)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.ionq import GroupBy
from budgetbot.render.text import money
from budgetbot.sim import SimOrg, SimServer
from tests.support import API_KEY
from tests.support import NOW as SIM_NOW

NOW = "2026-11-20T12:00:00Z"


def test_help_tells_a_newcomer_what_it_shows_and_needs() -> None:
    result = CliRunner().invoke(main, ["queue", "--help"], prog_name="budgetbot")
    assert result.exit_code == 0
    out = " ".join(result.output.split())
    assert "Usage: budgetbot queue [OPTIONS] [project|user]" in out
    for words in (
        "queued or running on IonQ now",
        "committed_at",
        "IONQ_PROJECT_KEYS",
        '"queue not visible", never $0',
        "--json",
        "Example: budgetbot queue project",
    ):
        assert words in out, words


def test_a_bad_grouping_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["queue", "projekt"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert "project, user" in error and "did you mean 'project'" in error
    # job and org are groupings of reports, not of the queue.
    assert CliRunner().invoke(main, ["queue", "org"]).exit_code == 2


def test_bad_options_are_usage_errors() -> None:
    assert CliRunner().invoke(main, ["queue", "--top", "-1"]).exit_code == 2
    result = CliRunner().invoke(main, ["queue", "--now", "yesterday"])
    assert result.exit_code == 2 and "ISO-8601" in result.output


# -- end to end: the simulator over HTTP, the real queue reader ---------------------------------


@pytest.fixture
def own_org() -> SimOrg:
    """An organization of this module's own: the tests submit jobs to it."""
    return SimOrg()


@pytest.fixture
def queue_env(
    own_org: SimOrg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[SimServer]:
    """Settings pointing at a simulator of ``own_org``; IONQ_PROJECT_KEYS left to the test."""
    with SimServer(own_org, api_key=API_KEY, now=SIM_NOW) as server:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("IONQ_BASE_URL", server.base_url)
        monkeypatch.setenv("IONQ_ORG_ID", own_org.org_id)
        monkeypatch.setenv("IONQ_API_KEY", API_KEY)
        monkeypatch.delenv("IONQ_PROJECT_KEYS", raising=False)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        yield server


def _queued_chem(org: SimOrg, amounts: list[str], project: str = "Quantum Chem") -> list[str]:
    jobs = org.submit(project, None, amounts, SIM_NOW - dt.timedelta(minutes=30))
    return [j.id for j in jobs]


def _estimate(org: SimOrg, project: str | None = None) -> Decimal:
    return sum((j.timeline.estimate for j in org.queued(SIM_NOW, project)), Decimal(0))


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, ["queue", *args, "--now", NOW])
    assert result.exit_code == 0, result.output
    return result


def test_with_every_project_key_every_queued_job_is_listed(
    queue_env: SimServer, own_org: SimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = queue_env.project_keys
    monkeypatch.setenv("IONQ_PROJECT_KEYS", ",".join(keys.values()))
    _queued_chem(own_org, ["400.00", "250.00"])
    queued = own_org.queued(SIM_NOW)
    doc = json.loads(_run("--json").output)
    assert doc["all_visible"] is True and doc["jobs"] == len(queued)
    listed = {j["id"] for g in doc["groups"] for j in g["job_list"]}
    assert listed == {j.id for j in queued}
    assert Decimal(doc["estimate_usd"]) == _estimate(own_org)
    chem = next(g for g in doc["groups"] if g["name"] == "Quantum Chem")
    assert Decimal(chem["estimate_usd"]) == _estimate(own_org, "Quantum Chem")
    # Names come from usage answers; the text names every queue as counted.
    out = _run().output
    assert "Quantum Chem: " in out and "not visible" not in out
    for secret in (API_KEY, *keys.values()):
        assert secret not in out and secret not in json.dumps(doc)


def test_without_a_project_key_a_project_is_not_visible_never_zero(
    queue_env: SimServer, own_org: SimOrg
) -> None:
    # IONQ_API_KEY is a key of Quantum Chem: it sees that project's queue, and no other.
    _queued_chem(own_org, ["400.00"], "Materials Discovery")
    out = _run().output
    [chem] = [line for line in out.splitlines() if line.startswith("Quantum Chem:")]
    assert "not visible" not in chem
    [mat] = [line for line in out.splitlines() if line.startswith("Materials Discovery:")]
    assert mat.startswith("Materials Discovery: queue not visible")
    assert "$0" not in mat and "nothing queued" not in mat
    assert "some queues are not visible" in out and "IONQ_PROJECT_KEYS" in out
    doc = json.loads(_run("--json").output)
    assert doc["all_visible"] is False and doc["estimate_usd"] is None
    # By user, nobody's queue is whole while any project is hidden.
    assert all(not g["visible"] for g in json.loads(_run("user", "--json").output)["groups"])


def test_a_budget_with_committed_at_shows_spend_committed_and_budget(
    queue_env: SimServer, own_org: SimOrg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chem = own_org.project("Quantum Chem")
    monkeypatch.setenv("IONQ_PROJECT_KEYS", queue_env.project_keys[chem.id])
    _queued_chem(own_org, ["400.00", "300.00", "200.00"])
    policies = tmp_path / "committed.yaml"
    policies.write_text(COMMITTED_POLICIES)
    result = CliRunner().invoke(main, ["validate", str(policies)])
    assert result.exit_code == 0, result.output
    out = _run("--policies", str(policies)).output
    spent = own_org.truth(
        GroupBy.PROJECT, dt.date(2026, 11, 1), dt.date(2026, 11, 21), until=SIM_NOW
    )
    committed = spent[chem.id].amount + _estimate(own_org, "Quantum Chem")
    assert (
        f"    budget chem-committed, November: {money(spent[chem.id].amount)} spent of"
        f" $100,000.00 · {money(committed)} committed (" in out
    )
    # A budget over several projects is listed apart, its queue not visible (not every key).
    assert "org-committed (the organization), November: " in out
    assert out.split("org-committed")[1].splitlines()[0].endswith("· queue not visible")
    doc = json.loads(_run("--policies", str(policies), "--json").output)
    [budget] = next(g for g in doc["groups"] if g["key"] == chem.id)["budgets"]
    assert Decimal(budget["committed"]["low"]) == committed


def test_the_digest_shows_committed_beside_spend(
    queue_env: SimServer, own_org: SimOrg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IONQ_PROJECT_KEYS", ",".join(queue_env.project_keys.values()))
    _queued_chem(own_org, ["400.00"])
    policies = tmp_path / "committed.yaml"
    policies.write_text(COMMITTED_POLICIES)
    result = CliRunner().invoke(
        main, ["digest", "weekly", "--dry-run", "--policies", str(policies), "--now", NOW]
    )
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.output.splitlines() if "Quantum Chem — November" in x]
    assert re.search(r"; \$[\d,.]+ committed \(\d+%, \d+ queued\)$", line), line
    [org_line] = [x for x in result.output.splitlines() if "The organization — November" in x]
    assert " committed (" in org_line  # every project's key given: the whole queue is seen


COMMITTED_POLICIES = """\
policies:
  - name: chem-committed
    scope: project
    match: ["Quantum Chem"]
    each: true
    period: month
    budget: {usd: 100000}
    committed_at: [100]
  - name: org-committed
    scope: organization
    period: month
    budget: {usd: 1000000}
    committed_at: [100]
digests:
  - name: weekly
    schedule: "0 9 * * MON"
"""


def test_failures_are_one_line_without_a_traceback(
    queue_env: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IONQ_API_KEY", "not-the-key")
    result = CliRunner().invoke(main, ["queue", "--now", NOW])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "IONQ_API_KEY" in result.output and "not-the-key" not in result.output
    monkeypatch.delenv("IONQ_API_KEY")
    result = CliRunner().invoke(main, ["queue", "--now", NOW])
    assert result.exit_code == 1 and "IONQ_API_KEY" in result.output
