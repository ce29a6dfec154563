"""Laws that hold between budgetbot's figures and the simulator's truth (hypothesis, over HTTP)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgetbot.ionq import GroupBy, Modality, UsageQuery
from budgetbot.reports.build import build_report
from budgetbot.usage import Measure, normalize
from tests.support import NOW

TODAY = NOW.date()

queries = st.builds(
    lambda group_by, modality, back, length: UsageQuery(
        group_by=group_by,
        modality=modality,
        start=TODAY - dt.timedelta(days=back),
        end=min(TODAY - dt.timedelta(days=back) + dt.timedelta(days=length), TODAY),
    ),
    st.sampled_from([GroupBy.PROJECT, GroupBy.USER, GroupBy.JOB]),
    st.sampled_from(list(Modality)),
    st.integers(min_value=1, max_value=365),
    st.integers(min_value=1, max_value=70),
)

LAWS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@LAWS
@given(query=queries)
def test_itemized_rows_plus_other_equal_ionq_total_to_the_cent(client, query):
    answer = client.usage(query)
    series = normalize(answer, query)
    report = build_report(series, query.group_by.value, NOW, top=7)
    for i, total in enumerate(report.totals):
        itemized = sum(r.cells[i].listed or 0 for r in report.rows)
        assert itemized + report.other[i] == total
    assert report.grand_total == answer.amount_total
    assert sum(r.total.low for r in report.rows) + report.other_total == answer.amount_total


@LAWS
@given(query=queries)
def test_every_bound_contains_the_truth_and_exact_means_true(client, org, query):
    series = normalize(client.usage(query), query)
    truth = org.truth(query.group_by.value, query.start, query.end)
    for key, true in truth.items():
        usd = series.figure([key], Measure.USD)
        jobs = series.figure([key], Measure.JOBS)
        assert usd is not None and jobs is not None
        assert usd.contains(true.amount), (key, usd, true)
        assert jobs.contains(true.job_count)
        if usd.exact:
            assert usd.low == true.amount
    assert series.total(Measure.USD) == sum(t.amount for t in truth.values())
    # A group with no usage at all in the window is bounded too (and may be exactly zero).
    assert series.figure(["no-such-group"], Measure.USD).low == 0


@LAWS
@given(query=queries, size=st.integers(min_value=2, max_value=6))
def test_joint_bounds_of_several_groups_contain_their_sum(client, org, query, size):
    series = normalize(client.usage(query), query)
    truth = org.truth(query.group_by.value, query.start, query.end)
    keys = sorted(truth)[:size]
    joint = series.figure(keys, Measure.USD)
    assert joint is not None and joint.contains(sum(truth[k].amount for k in keys))
