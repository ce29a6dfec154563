"""The queue report (``budgetbot queue``, ``/ionq-usage queue``) and committed spend beside spend
in the budget views: built from hand-made snapshots and burns (pure)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.render.budgets import budgets_blocks, budgets_text, burn_line, committed_words
from budgetbot.render.digest import digest_blocks, digest_text
from budgetbot.render.home import home_view
from budgetbot.render.queue import (
    JOBS_PER_GROUP,
    budget_line,
    queue_blocks,
    queue_json,
    queue_text,
)
from budgetbot.reports.queue import NO_PROJECT, build_queue_report
from budgetbot.rules.findings import Burn, Figure, QueueStanding
from tests.fakes.slack_api import iter_blocks_text
from tests.render.test_limits import LAW, assert_message, digest, names, shown_plus_more
from tests.render.test_limits import burns as limit_burns

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
STATES = ("counted", "not_visible", "no_estimate")
NAMES = {
    "p-chem": "Quantum Chem",
    "p-mat": "Materials",
    "p-opt": "Optics",
    "u-alice": "Alice",
    "u-bob": "Bob",
}


def job(id_: str, project: str | None, user: str = "u-alice", **more: Any) -> QueuedJob:
    usd = more.pop("usd", None)
    unit = more.pop("unit", "usd" if usd is not None else None)
    return QueuedJob(
        id_,
        more.pop("status", "submitted"),
        project,
        user,
        estimate_usd=None if usd is None else Decimal(usd),
        estimate_unit=unit,
        **more,
    )


def snapshot(
    jobs: tuple[QueuedJob, ...],
    covered: set[str],
    known: set[str] | None = None,
    names: dict[str, str] | None = None,
) -> QueueSnapshot:
    return QueueSnapshot(
        NOW,
        jobs,
        covered=frozenset(covered),
        known=frozenset(known if known is not None else covered),
        names=NAMES if names is None else names,
    )


def burn(queue: QueueStanding | None, **changes: Any) -> Burn:
    """Quantum Chem at $1,700 of a $2,000 November budget."""
    base: dict[str, Any] = {
        "rule": "chem-monthly",
        "scope": "project",
        "group_key": "p-chem",
        "group_name": "Quantum Chem",
        "period": "2026-11",
        "period_start": dt.date(2026, 11, 1),
        "period_end": dt.date(2026, 12, 1),
        "measure": "usd",
        "budget": Decimal(2000),
        "value": Figure(Decimal(1700), Decimal(1700)),
        "percent": Figure(Decimal(85), Decimal(85)),
        "queue": queue,
    }
    base.update(changes)
    return Burn(**base)


CHEM = (
    job("j1", "p-chem", status="started", name="vqe-sweep-12", usd="250"),
    job("j2", "p-chem", "u-bob", name="h2-scan", usd="100"),
    job("j3", "p-chem", "u-bob", status="ready", usd="50"),
)


# -- the report -------------------------------------------------------------------------------


def test_a_covered_project_shows_its_jobs_estimate_and_committed_budget() -> None:
    b = burn(QueueStanding("counted", Decimal(400), 3))
    report = build_queue_report(snapshot(CHEM, {"p-chem"}), "project", [b])
    out = queue_text(report)
    assert "3 jobs queued or running, $400.00 estimated" in out
    assert "Quantum Chem: 3 jobs (1 submitted, 1 ready, 1 running), $400.00 estimated" in out
    assert (
        "budget chem-monthly, November: $1,700.00 spent of $2,000.00"
        " · $2,100.00 committed (105%, 3 queued)" in out
    )
    # Largest estimate first, with status, name (else id) and submitter.
    lines = out.splitlines()
    at = lines.index("    running · $250.00 · vqe-sweep-12 · Alice")
    assert lines[at + 1 : at + 3] == [
        "    submitted · $100.00 · h2-scan · Bob",
        "    ready · $50.00 · j3 · Bob",
    ]
    assert "not visible" not in out


def test_a_project_no_key_covers_is_not_visible_never_zero() -> None:
    jobs = (*CHEM, job("j4", "p-mat", usd="75"))
    report = build_queue_report(snapshot(jobs, {"p-chem"}, {"p-chem", "p-mat", "p-opt"}))
    out = queue_text(report)
    assert "Materials: queue not visible; 1 job (1 submitted) seen" in out
    assert "Optics: queue not visible" in out  # known, no key, no job seen: still not zero
    assert "Optics: nothing queued" not in out and "$0.00" not in out
    assert "some queues are not visible" in out
    doc = json.loads(queue_json(report))
    assert doc["all_visible"] is False and doc["estimate_usd"] is None
    mat = next(g for g in doc["groups"] if g["key"] == "p-mat")
    assert mat["visible"] is False and mat["estimate_usd"] is None
    assert mat["estimate_usd_seen"] == "75"
    # Order: groups with jobs, then not visible, then visible with nothing queued.
    covered = build_queue_report(snapshot(jobs, {"p-chem", "p-opt"}, {"p-chem", "p-mat", "p-opt"}))
    assert [g.name for g in covered.groups] == ["Quantum Chem", "Materials", "Optics"]
    assert "Optics: nothing queued" in queue_text(covered)


def test_credits_and_jobs_without_a_project_are_said() -> None:
    jobs = (
        job("j1", "p-chem", usd="250"),
        job("j2", "p-chem", unit="credit"),
        job("j3", None, name="orphan", unit="credit"),
    )
    everything = snapshot(jobs, {"p-chem"})
    report = build_queue_report(everything)
    out = queue_text(report)
    assert (
        "Quantum Chem: 2 jobs (2 submitted), estimate unknown: 1 in credits without a USD"
        " estimate ($250.00 for the others)" in out
    )
    assert f"{NO_PROJECT}: 1 job (1 submitted), estimate unknown: 1 in credits" in out
    assert "submitted · credits, no USD estimate · orphan · Alice" in out
    assert "credits: IonQ estimated some jobs in credits" in out
    doc = json.loads(queue_json(report))
    assert [g["key"] for g in doc["groups"]] == ["p-chem", None]
    assert doc["groups"][0]["estimate_usd"] is None and doc["groups"][0]["credit_jobs"] == 1
    assert doc["estimate_usd"] is None
    # Jobs without a project come from any key: visible only when every project is.
    partial = build_queue_report(snapshot(jobs, {"p-chem"}, {"p-chem", "p-mat"}))
    assert not next(g for g in partial.groups if g.key is None).visible


def test_by_user_needs_every_project_visible() -> None:
    jobs = (*CHEM, job("j4", "p-mat", "u-carol", usd="75"))
    hidden = build_queue_report(snapshot(jobs, {"p-chem"}, {"p-chem", "p-mat"}), "user")
    assert all(not g.visible for g in hidden.groups)
    out = queue_text(hidden)
    assert "Alice: queue not visible; 1 job (1 running) seen" in out
    assert "a user may queue in any project" in out
    seen = build_queue_report(snapshot(jobs, {"p-chem", "p-mat"}), "user")
    out = queue_text(seen)
    assert "Bob: 2 jobs (1 submitted, 1 ready), $150.00 estimated" in out
    assert "submitted · $75.00 · j4 · u-carol · in Materials" in out
    nothing = build_queue_report(snapshot((), set(), {"p-chem"}), "user")
    assert "Queue not visible: a user may queue in any project" in queue_text(nothing)
    assert "Nothing queued or running." in queue_text(
        build_queue_report(snapshot((), {"p"}), "user")
    )


def test_budgets_about_no_single_group_are_listed_apart() -> None:
    chem = burn(QueueStanding("counted", Decimal(400), 3))
    org = burn(
        QueueStanding("not_visible", None, 4),
        rule="org-monthly",
        scope="organization",
        group_key="*",
        group_name="the organization",
    )
    named = burn(QueueStanding("counted", Decimal(400), 3), rule="chem-named", group_key="*")
    plain = burn(None, rule="no-committed")  # a policy without committed_at: not shown
    report = build_queue_report(snapshot(CHEM, {"p-chem"}), "project", [chem, org, named, plain])
    [group] = report.groups
    assert [b.rule for b in group.budgets] == ["chem-monthly", "chem-named"]
    assert [b.rule for b in report.budgets] == ["org-monthly"]
    out = queue_text(report)
    assert (
        "org-monthly (the organization), November: $1,700.00 spent of $2,000.00 · queue not visible"
        in out
    )
    assert "no-committed" not in out
    doc = json.loads(queue_json(report))
    assert doc["budgets"][0]["queue"] == {"state": "not_visible", "amount": None, "jobs": 4}
    assert doc["budgets"][0]["committed"] is None
    chem_doc = doc["groups"][0]["budgets"][0]
    assert chem_doc["committed"] == {"low": "2100", "high": "2100", "exact": True}
    assert chem_doc["spend"] == {"low": "1700", "high": "1700", "exact": True}


def test_json_keys_are_stable() -> None:
    b = burn(QueueStanding("counted", Decimal(400), 3))
    doc = json.loads(queue_json(build_queue_report(snapshot(CHEM, {"p-chem"}), "project", [b])))
    assert list(doc) == [
        "at", "grouping", "unit", "all_visible", "jobs", "estimate_usd", "groups", "budgets",
        "requests",
    ]  # fmt: skip
    group = doc["groups"][0]
    assert list(group) == [
        "key", "name", "visible", "jobs", "by_status", "estimate_usd", "estimate_usd_seen",
        "credit_jobs", "unestimated_jobs", "budgets", "job_list",
    ]  # fmt: skip
    assert list(group["job_list"][0]) == [
        "id", "name", "status", "project_id", "project_name", "submitter_id", "submitter_name",
        "backend", "submitted_at", "estimate_usd", "estimate_unit", "predicted_qpu_us",
    ]  # fmt: skip
    assert list(group["budgets"][0]) == [
        "rule", "scope", "group_key", "group_name", "period", "period_start",
        "period_end_exclusive", "measure", "budget", "spend", "committed", "committed_percent",
        "queue",
    ]  # fmt: skip
    assert doc["at"] == "2026-11-20T12:00:00+00:00" and doc["estimate_usd"] == "400"
    assert group["by_status"] == {"submitted": 1, "ready": 1, "started": 1}


def test_terminal_lists_top_jobs_and_counts_the_rest() -> None:
    many = tuple(job(f"j{i}", "p-chem", usd=str(i)) for i in range(12))
    report = build_queue_report(snapshot(many, {"p-chem"}))
    out = queue_text(report)
    assert out.count("    submitted · $") == JOBS_PER_GROUP and "… and 7 more jobs" in out
    assert queue_text(report, top=None).count("    submitted · $") == 12


def test_hostile_names_are_escaped_in_slack_and_harmless_in_a_terminal() -> None:
    nasty = "<!channel> & <@U123>\x1b[31m"
    jobs = (job("j1", "p-x", "u-x", name=nasty, usd="5"),)
    report = build_queue_report(snapshot(jobs, {"p-x"}, names={"p-x": nasty, "u-x": nasty}))
    text, blocks = queue_blocks(report)
    assert_message(text, blocks)
    joined = "\n".join(iter_blocks_text(blocks))
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in joined
    assert "\x1b" not in queue_text(report)


# -- Slack limits -----------------------------------------------------------------------------

_GROUP = re.compile(r"^\*[^\n]*\*: ", re.MULTILINE)
_MORE_GROUPS = re.compile(r"… and (\d+) more (?:project|user)s?\b")


def _groups_counted(blocks: list[dict[str, Any]]) -> int:
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    heads = sum(1 for t in texts if _GROUP.match(t))
    return heads + sum(int(n) for t in texts for n in _MORE_GROUPS.findall(t))


def test_a_thousand_groups_and_jobs_fit_one_message_and_are_counted() -> None:
    jobs = tuple(job(f"j{i}", f"p{i % 1000}", f"u{i % 300}", usd="1") for i in range(3000))
    covered = {f"p{i}" for i in range(0, 1000, 2)}
    known = {f"p{i}" for i in range(1200)}
    for grouping, total in (("project", 1200), ("user", 300)):
        report = build_queue_report(snapshot(jobs, covered, known, names={}), grouping)  # type: ignore[arg-type]
        text, blocks = queue_blocks(report)
        assert_message(text, blocks)
        assert _groups_counted(blocks) == total
    one = build_queue_report(
        snapshot(tuple(job(f"j{i}", "p", usd="1") for i in range(1000)), {"p"})
    )
    _, [_, _, section] = queue_blocks(one)
    assert section["text"]["text"].endswith(f"… and {1000 - JOBS_PER_GROUP} more jobs")


@LAW
@given(name=names, groups=st.integers(0, 400), per=st.integers(1, 8), seen=st.booleans())
def test_queue_message_fits_whatever_the_names(
    name: str, groups: int, per: int, seen: bool
) -> None:
    jobs = tuple(
        job(f"j{i}", f"p{i % max(groups, 1)}", name=name, usd=str(i)) for i in range(groups * per)
    )
    ids = {f"p{i}" for i in range(groups)}
    names_ = {k: name + k for k in ids}
    report = build_queue_report(snapshot(jobs, ids if seen else set(), ids, names_))
    text, blocks = queue_blocks(report)
    assert_message(text, blocks)
    assert _groups_counted(blocks) == len(report.groups)


# -- committed beside spend -------------------------------------------------------------------


def test_committed_words_for_each_queue_state() -> None:
    assert committed_words(burn(None)) is None
    counted = burn(QueueStanding("counted", Decimal(400), 3))
    assert committed_words(counted) == "$2,100.00 committed (105%, 3 queued)"
    assert committed_words(burn(QueueStanding("counted", Decimal(0), 0))) == (
        "$1,700.00 committed (85%, 0 queued)"
    )
    assert committed_words(burn(QueueStanding("not_visible", None, 0))) == "queue not visible"
    assert committed_words(burn(QueueStanding("no_estimate", None, 2))) == (
        "committed unknown (2 queued jobs, some in credits without a USD estimate)"
    )
    bounded = burn(
        QueueStanding("counted", Decimal(100), 1), value=Figure(Decimal(1000), Decimal(1200))
    )
    assert committed_words(bounded) == (
        "between $1,100.00 and $1,300.00 committed (between 55% and 65%, 1 queued)"
    )
    hours = burn(QueueStanding("no_estimate", None, 1), measure="qpu_hours", budget=Decimal(2))
    assert committed_words(hours) == (
        "committed unknown (1 queued job, some without an estimate in QPU hours)"
    )


def test_budget_views_show_committed_only_for_burns_with_a_queue() -> None:
    with_queue = burn(QueueStanding("counted", Decimal(400), 3))
    hidden = burn(QueueStanding("not_visible", None, 0), rule="mat", group_name="Materials")
    without = burn(None, rule="plain", group_name="Optics")
    assert burn_line(with_queue).endswith("(85%); $2,100.00 committed (105%, 3 queued)")
    assert burn_line(hidden).endswith("(85%); queue not visible")
    assert burn_line(without).endswith("of $2,000.00 (85%)")
    items = [with_queue, hidden, without]
    for shown in (
        budgets_text(items),
        digest_text(digest("weekly", items)),
        "\n".join(iter_blocks_text(budgets_blocks(items)[1])),
        "\n".join(iter_blocks_text(digest_blocks(digest("weekly", items))[1])),
        "\n".join(iter_blocks_text(home_view(items, [], NOW)["blocks"])),
    ):
        assert "$2,100.00 committed (105%, 3 queued)" in shown
        assert "Materials — November: $1,700.00 of $2,000.00 (85%); queue not visible" in shown
        assert "Optics — November: $1,700.00 of $2,000.00 (85%)" in shown
        assert shown.count("committed") == 1


@LAW
@given(name=names, count=st.integers(0, 400), state=st.sampled_from(STATES))
def test_budget_views_with_committed_fit_and_count_every_budget(
    name: str, count: int, state: str
) -> None:
    standing = QueueStanding(state, Decimal(500) if state == "counted" else None, 3)  # type: ignore[arg-type]
    items = [b.model_copy(update={"queue": standing}) for b in limit_burns(count, 7, name)]
    assert_message(*budgets_blocks(items))
    text, blocks = digest_blocks(digest(name, items))
    assert_message(text, blocks, max_blocks=49)
    assert shown_plus_more(blocks) == count
    view = home_view(items, [], NOW)
    assert shown_plus_more(view["blocks"]) == count


def test_a_jobs_budget_is_used_not_spent() -> None:
    jobs = burn(
        QueueStanding("counted", Decimal(3), 3),
        measure="jobs",
        budget=Decimal(100),
        value=Figure(Decimal(40), Decimal(40)),
        percent=Figure(Decimal(40), Decimal(40)),
    )
    assert budget_line(jobs) == (
        "chem-monthly, November: 40 jobs used of 100 jobs · 43 jobs committed (43%, 3 queued)"
    )
