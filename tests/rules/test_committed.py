"""Committed spend in the policy language and the engine: spend so far plus the queue."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from budgetbot.render.messages import alert_headline
from budgetbot.rules import PolicyLoadError, load_policies, policy_json_schema
from budgetbot.rules.engine import burns_of, evaluate_plan
from budgetbot.rules.findings import Burn, Finding
from budgetbot.rules.models import Policy
from budgetbot.rules.planner import plan_cycle
from budgetbot.rules.queued import QueueIndex
from budgetbot.usage.measures import US_PER_HOUR
from tests.rules.queue_data import NOW, answers, job, snapshot

D = Decimal


def policy(**changes: Any) -> Policy:
    doc: dict[str, Any] = {
        "name": "chem",
        "scope": "project",
        "match": ["Quantum Chem"],
        "each": True,
        "budget": {"usd": 2000},
        "alert_at": [100],
        "committed_at": [90, 100],
        **changes,
    }
    return Policy.model_validate(doc)


def committed(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.kind == "committed"]


def test_committed_at_is_a_level_list_like_the_others(tmp_path: Path) -> None:
    assert Policy.model_validate(
        {"name": "a", "scope": "project", "budget": {"usd": 1}}
    ).committed_at == ([])
    assert policy(committed_at=[100, 150]).committed_at == [D(100), D(150)]  # over 100: allowed
    for levels, message in [
        ([0], "must be greater than 0 (got 0)"),
        ([100, 90], "must be in strictly ascending order (90 comes after 100)"),
        ([100, 100], "must be in strictly ascending order (100 comes after 100)"),
    ]:
        with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            policy(committed_at=levels)
    (tmp_path / "chem.yaml").write_text(
        textwrap.dedent(
            """\
            policies:
              - name: chem
                scope: project
                budget: {usd: 2000}
                committed_at: [100, 90]
            """
        )
    )
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(tmp_path)
    [error] = raised.value.errors
    assert (error.line, error.field) == (5, "policies[0].committed_at")
    assert str(error).endswith("chem.yaml:5:19: policies[0].committed_at (chem): must be in"
                               " strictly ascending order (90 comes after 100)")  # fmt: skip
    prop = policy_json_schema()["$defs"]["Policy"]["properties"]["committed_at"]
    assert prop["uniqueItems"] is True and "queued" in prop["description"]
    assert prop["items"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000}


def test_the_issue_example_fires_certainly_and_reads_as_written() -> None:
    planned = plan_cycle([policy()], (), NOW)
    queue = snapshot(job("j1", usd="200"), job("j2", usd="150"), job("j3", usd="50"))
    found = evaluate_plan(planned, answers(planned, {"p-chem": D(1700)}), queue)
    [low, high] = committed(found)
    assert (low.level, high.level) == (D(90), D(100)) and high.certain
    assert high.group_key == "p-chem" and high.committed is not None
    assert alert_headline(high) == (
        "Quantum Chem has committed 105% of its November budget: $1,700.00 spent + $400.00 in 3"
        " queued jobs ($2,100.00 of $2,000.00)"
    )
    assert high.queue is not None and [j.amount for j in high.queue.largest] == [
        D(200),
        D(150),
        D(50),
    ]
    assert [f.kind for f in found if f.kind != "committed"] == []  # 85% spent: no spend alert


def test_a_queue_not_read_not_visible_or_without_estimate_never_fires() -> None:
    planned = plan_cycle([policy()], (), NOW)
    data = answers(planned, {"p-chem": D(1700)})
    big = job("j1", usd="5000")
    assert committed(evaluate_plan(planned, data)) == []
    [burn] = burns_of(planned, data)
    assert burn.queue is None and burn.committed is None
    hidden = snapshot(big, covered=("p-bio",))
    assert committed(evaluate_plan(planned, data, hidden)) == []
    [burn] = burns_of(planned, data, hidden)
    assert burn.queue is not None and burn.queue.state == "not_visible"
    assert burn.queue.amount is None and burn.committed is None
    credits = snapshot(big, job("j2", usd="3", unit="credit"))
    assert committed(evaluate_plan(planned, data, credits)) == []
    [burn] = burns_of(planned, data, credits)
    assert burn.queue is not None and burn.queue.state == "no_estimate" and burn.queue.jobs == 2


def test_policies_without_committed_at_never_look_at_the_queue() -> None:
    planned = plan_cycle([policy(committed_at=[])], (), NOW)
    assert not planned.needs_queue and plan_cycle([policy()], (), NOW).needs_queue
    data = answers(planned, {"p-chem": D(1700)})
    [burn] = burns_of(planned, data, snapshot(job("j1", usd="5000")))
    assert burn.queue is None
    assert committed(evaluate_plan(planned, data, snapshot(job("j1", usd="5000")))) == []


def test_a_group_that_only_queues_is_still_budgeted() -> None:
    # New Project has spent nothing IonQ lists this month; its queue alone crosses the level.
    planned = plan_cycle([policy(match=None)], (), NOW)
    data = answers(planned, {"p-chem": D(100)})
    found = evaluate_plan(planned, data, snapshot(job("j1", "p-new", usd="2500")))
    [f] = [f for f in committed(found) if f.level == D(100)]
    assert (f.group_key, f.group_name, f.certain) == ("p-new", "New Project", True)
    # Its spend is what the answers bound it at (here exactly nothing: no remainder).
    assert f.value.low == f.value.high == 0
    names = [b.group_name for b in burns_of(planned, data, snapshot(job("j1", "p-new")))]
    assert names == ["Quantum Chem", "New Project"]
    # And it is asked about once its queue is gone, so its "back under" can be said.
    assert [b.group_key for b in burns_of(planned, data, snapshot())] == ["p-chem"]
    asked = burns_of(planned, data, snapshot(), also={"chem": {"p-new"}})
    assert [b.group_key for b in asked] == ["p-chem", "p-new"]
    assert asked[1].committed_percent is not None and asked[1].committed_percent.high == 0


def test_users_organization_and_combined_groups() -> None:
    jobs = (
        job("a", "p-chem", "300", user="u-alice"),
        job("b", "p-bio", "200", user="u-bob"),
        job("c", None, "100", user="u-bob"),  # no project: its submitter's and the org's
    )
    queue = snapshot(*jobs)
    user = policy(name="users", scope="user", match=None)
    org = policy(name="org", scope="organization", match=None, each=False)
    chem_and_bio = policy(name="two", match=["Quantum Chem", "Bio*"], each=False)
    planned = plan_cycle([user, org, chem_and_bio], (), NOW)
    data = answers(planned, {"p-chem": D(10), "p-bio": D(10), "u-alice": D(10), "u-bob": D(10)})
    stood = {(b.rule, b.group_key): b.queue for b in burns_of(planned, data, queue)}
    amounts = {k: (q.state, q.amount, q.jobs) for k, q in stood.items() if q is not None}
    assert amounts == {
        ("users", "u-alice"): ("counted", D(300), 1),
        ("users", "u-bob"): ("counted", D(300), 2),
        ("org", "*"): ("counted", D(600), 3),
        ("two", "*"): ("counted", D(500), 2),
    }
    # A user may queue in any project: one project nobody sees hides every user's queue; the
    # combined budget needs only the projects its globs mean.
    partial = snapshot(*jobs, covered=("p-chem", "p-bio"), known=("p-chem", "p-bio", "p-x"))
    states = {
        (b.rule, b.group_key): b.queue and b.queue.state for b in burns_of(planned, data, partial)
    }
    assert states == {
        ("users", "u-alice"): "not_visible",
        ("users", "u-bob"): "not_visible",
        ("org", "*"): "not_visible",
        ("two", "*"): "counted",
    }
    unseen_bio = snapshot(*jobs, covered=("p-chem",), known=("p-chem", "p-bio", "p-biox"))
    [two] = [b for b in burns_of(planned, data, unseen_bio) if b.rule == "two"]
    assert two.queue is not None and two.queue.state == "not_visible"


def test_jobs_and_qpu_hour_budgets_count_the_queue_in_their_unit() -> None:
    hours = policy(name="hours", budget={"qpu_hours": 2}, committed_at=[50])
    count = policy(name="count", budget={"jobs": 4}, committed_at=[50])
    planned = plan_cycle([hours, count], (), NOW)
    data = answers(planned, {"p-chem": D(0)})
    queue = snapshot(job("a", predicted_us=US_PER_HOUR), job("b", predicted_us=US_PER_HOUR / 2))
    got = {b.rule: b.committed for b in burns_of(planned, data, queue)}
    assert got["hours"] is not None and got["hours"].low == D("1.5")
    assert got["count"] is not None and got["count"].low == 3  # 1 billed + 2 queued
    found = committed(evaluate_plan(planned, data, queue))
    assert [(f.rule, f.level) for f in found] == [("hours", D(50)), ("count", D(50))]
    assert alert_headline(found[1]).endswith("1 jobs used + 2 queued jobs (3 jobs of 4 jobs)")
    # A job without a predicted time: the QPU-hour figure is unknown, not partial.
    [h, _] = burns_of(planned, data, snapshot(job("a", predicted_us=US_PER_HOUR), job("b")))
    assert h.queue is not None and h.queue.state == "no_estimate"


def test_the_queue_is_indexed_once_per_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = QueueIndex.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type[QueueIndex], snap: Any, names: Any = None) -> QueueIndex:
        built.append(snap)
        return real(cls, snap, names)  # type: ignore[no-any-return]

    monkeypatch.setattr(QueueIndex, "of", classmethod(counting))
    many = [policy(name=f"p{i}", match=None) for i in range(5)]
    planned = plan_cycle(many, (), NOW)
    evaluate_plan(planned, answers(planned, {"p-chem": D(1)}), snapshot(job("a")))
    assert len(built) == 1
    plain = plan_cycle([policy(committed_at=[])], (), NOW)
    evaluate_plan(plain, answers(plain, {"p-chem": D(1)}), snapshot(job("a")))
    assert len(built) == 1  # no policy counts the queue: not indexed at all


spend = st.integers(min_value=0, max_value=4000).map(D)
queued = st.lists(
    st.tuples(st.sampled_from(["p-chem", "p-bio", "p-new", None]), st.integers(0, 1500)),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    chem=spend,
    other=spend,
    listed=st.booleans(),
    jobs=queued,
    covered=st.sets(st.sampled_from(["p-chem", "p-bio", "p-new"])),
    levels=st.lists(st.integers(10, 300), min_size=1, max_size=3, unique=True),
    scope=st.sampled_from(["project", "user", "organization"]),
)
def test_committed_laws(
    chem: Decimal,
    other: Decimal,
    listed: bool,
    jobs: list[tuple[str | None, int]],
    covered: set[str],
    levels: list[int],
    scope: str,
) -> None:
    rule = policy(
        scope=scope,
        match=None,
        each=scope != "organization",
        committed_at=sorted(levels),
    )
    planned = plan_cycle([rule], (), NOW)
    key = "u-alice" if scope == "user" else "p-chem"
    # Unlisted, Quantum Chem's spend hides in the remainder: a bound, not a figure.
    data = answers(planned, {key: chem} if listed else {}, other=other + (0 if listed else chem))
    queue = snapshot(
        *(job(f"j{i}", p, str(usd)) for i, (p, usd) in enumerate(jobs)),
        covered=tuple(covered),
    )
    found = committed(evaluate_plan(planned, data, queue))
    burns = {b.group_key: b for b in burns_of(planned, data, queue)}
    for burn in burns.values():
        total = burn.committed
        if burn.queue is None or burn.queue.state != "counted":
            assert total is None  # not visible / no estimate: no figure at all
            continue
        assert total is not None
        assert total.low >= burn.value.low and total.high >= burn.value.high
    for f in found:
        assert f.queue is not None and f.queue.state == "counted"
        figure = f.committed_percent
        assert figure is not None and figure.high >= f.level
        assert f.certain == (figure.low >= f.level)
    # Every level the committed figure reaches is found (certain ones at least).
    for burn in burns.values():
        figure = burn.committed_percent
        for level in sorted(levels):
            if figure is not None and figure.low >= level:
                assert any(
                    f.group_key == burn.group_key and f.level == level and f.certain for f in found
                )


def test_a_burn_round_trips_its_queue() -> None:
    planned = plan_cycle([policy()], (), NOW)
    [burn] = burns_of(planned, answers(planned, {"p-chem": D(1)}), snapshot(job("a", name="x")))
    assert Burn.model_validate(burn.model_dump(mode="json")) == burn


def test_submitters_are_named_as_this_cycles_usage_answers_name_them() -> None:
    # A fresh store has learned no names yet; the cycle's own answers by user (a user budget
    # asks for them) do name Alice.
    users = policy(name="people", scope="user", match=None, committed_at=[])
    planned = plan_cycle([policy(), users], (), NOW)
    queue = replace(snapshot(job("j1", usd="400")), names={})
    data = answers(planned, {"p-chem": D(1700), "u-alice": D(900)})
    [*_, high] = committed(evaluate_plan(planned, data, queue))
    assert high.queue is not None
    assert [line.submitter for line in high.queue.largest] == ["Alice"]
