"""Block Kit renderers: Slack's limits hold, names from IonQ and policies are escaped."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from budgetbot.render.blocks import alert_message, error_message, help_message, report_message
from budgetbot.render.slack_text import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELDS,
    MAX_HEADER,
    MAX_SECTION,
    MAX_TEXT,
)
from budgetbot.reports.build import Cell, Column, Report, Row
from budgetbot.rules.findings import Figure
from budgetbot.usage.model import Bound
from tests.fakes.slack_api import iter_blocks_text
from tests.slack.conftest import make_finding

NASTY = "<!channel> & <@U123>"
NASTY_ESCAPED = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def assert_within_limits(text: str, blocks: list[dict[str, Any]]) -> None:
    assert text and len(text) <= MAX_TEXT
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= MAX_HEADER
        elif block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert len(block["text"]["text"]) <= MAX_SECTION
            assert len(block.get("fields", [])) <= MAX_FIELDS
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
        else:
            assert block["type"] == "actions"
            assert len(block["elements"]) <= 25
    json.dumps(blocks)  # plain JSON data


def assert_escaped(text: str, blocks: list[dict[str, Any]], raw: str, escaped: str) -> None:
    for piece in [text, *iter_blocks_text(blocks)]:
        assert raw not in piece
        assert "<!channel>" not in piece and "<@U123>" not in piece
    assert escaped in text


def report(
    groups: int, *, name: str = "project {i}", columns: int = 4, daily: bool = False
) -> Report:
    start = dt.date(2026, 10, 26)
    step = 1 if daily else 7
    cols = tuple(
        Column(
            start + dt.timedelta(days=step * i),
            start + dt.timedelta(days=step * (i + 1)),
            i == columns - 1,
        )
        for i in range(columns)
    )
    rows = []
    for i in range(groups):
        listed = i < 5
        cells = tuple(
            Cell(Decimal(1000 - i) if listed else None, Decimal(50)) for _ in range(columns)
        )
        low = Decimal(1000 - i) * columns if listed else Decimal(0)
        total = Bound(low, low) if listed else Bound(low, Decimal(50) * columns)
        rows.append(Row(f"k{i}", name.format(i=i), cells, total))
    itemized = sum(((1000 - i) for i in range(min(groups, 5))), 0)
    other = Decimal("123.45")
    totals = tuple(Decimal(itemized) + other for _ in range(columns))
    grand = sum(totals, Decimal(0))
    return Report(
        grouping="project",
        modality="daily" if daily else "weekly",
        start=cols[0].start,
        end=cols[-1].end,
        now=NOW,
        columns=cols,
        rows=tuple(rows),
        other=tuple(other for _ in range(columns)),
        totals=totals,
        qpu_hours=tuple(Decimal("1.5") for _ in range(columns)),
        jobs=tuple(Decimal(12) for _ in range(columns)),
        grand_total=grand,
        other_total=other * columns,
        qpu_hours_total=Decimal("1.5") * columns,
        jobs_total=Decimal(12) * columns,
        reported_total=grand,
    )


# -- alerts -----------------------------------------------------------------------------------


def test_alert_says_rule_group_spend_budget_period_forecast_and_source() -> None:
    text, blocks = alert_message(make_finding(), mentions=["<!subteam^S0CHEM>", "<@U0ALICE>"])
    assert_within_limits(text, blocks)
    everything = "\n".join([text, *iter_blocks_text(blocks)])
    assert text.startswith("<!subteam^S0CHEM> <@U0ALICE> Quantum Chem has used 82%")
    for expected in (
        "chem-monthly",
        "Quantum Chem",
        "$4,100.00",
        "$5,000.00",
        "November",
        "$6,400.00",
        "policies/chem.yaml",
        "Chemistry team QPU budget",
    ):
        assert expected in everything, expected


def test_alert_escapes_names_from_ionq_and_policies() -> None:
    finding = make_finding(group_name=NASTY, description=f"about {NASTY}")
    text, blocks = alert_message(finding, mentions=[], console_url="https://cloud.ionq.com/")
    assert_within_limits(text, blocks)
    assert_escaped(text, blocks, NASTY, NASTY_ESCAPED)
    assert any(NASTY_ESCAPED in t for t in iter_blocks_text(blocks))
    assert blocks[-1]["elements"][0]["url"] == "https://cloud.ionq.com/"


def test_bounded_alert_figures_say_at_least_or_between() -> None:
    finding = make_finding(
        value=Figure(low=Decimal(4100), high=Decimal(4600)),
        percent=Figure(low=Decimal(82), high=Decimal(92)),
        forecast=Figure(low=Decimal(6400), high=Decimal(7000)),
    )
    text, blocks = alert_message(finding, mentions=[])
    everything = "\n".join([text, *iter_blocks_text(blocks)])
    # the percent is bounded too: "at least" or "between", never a bare "82%"
    assert "at least 82%" in text or "between 82% and 92%" in text
    assert "between $4,100.00 and $4,600.00" in everything
    assert "between $6,400.00 and $7,000.00" in everything
    assert "$4,100.00 of" not in everything.replace("between $4,100.00", "")


def test_alert_with_huge_names_stays_within_limits() -> None:
    finding = make_finding(group_name="&" * 500, description="<" * 3000, rule="r" * 64)
    text, blocks = alert_message(finding, mentions=["<@U1>"] * 3)
    assert_within_limits(text, blocks)
    for piece in iter_blocks_text(blocks):
        assert "&amp" not in piece.replace("&amp;", "")  # never an entity cut in half


@pytest.mark.parametrize("kind", ["forecast", "pace", "anomaly", "no_usd"])
def test_every_kind_renders(kind: str) -> None:
    extra: dict[str, Any] = {"kind": kind}
    if kind == "pace":
        extra["pace"] = Figure(low=Decimal(130), high=Decimal(130))
    if kind == "anomaly":
        extra.update(baseline=Decimal(40), day=dt.date(2026, 11, 19), level=Decimal(3))
    text, blocks = alert_message(make_finding(**extra), mentions=[])
    assert_within_limits(text, blocks)


def test_organization_scope_names_no_group() -> None:
    text, _ = alert_message(make_finding(scope="organization", group_name="*"), mentions=[])
    assert text.startswith("The organization has used")


# -- reports ----------------------------------------------------------------------------------


def test_small_report_is_a_table_with_totals_to_the_cent() -> None:
    text, blocks = report_message(report(3))
    assert_within_limits(text, blocks)
    table = next(t for t in iter_blocks_text(blocks) if t.startswith("```"))
    assert "project 0" in table and "other / not itemized" in table
    grand = report(3).grand_total
    assert f"{grand:,.2f}" in table and f"${grand:,.2f}" in text
    assert "Nov 16*" in table  # the partial bucket is marked and the legend says why
    assert any("to date" in t for t in iter_blocks_text(blocks))


@pytest.mark.parametrize("daily", [False, True])
def test_200_groups_with_500_char_names_fit(daily: bool) -> None:
    big = report(200, name="x" * 490 + " {i:05d}", columns=31 if daily else 4, daily=daily)
    text, blocks = report_message(big)
    assert_within_limits(text, blocks)
    everything = "\n".join(iter_blocks_text(blocks))
    assert "folded" in everything  # it says so
    grand = big.grand_total
    assert f"{grand:,.2f}" in everything  # the total still matches IonQ


def test_report_escapes_names_everywhere() -> None:
    r = report(8, name=NASTY + " {i}")
    text, blocks = report_message(r)
    assert_within_limits(text, blocks)
    assert_escaped(text, blocks, NASTY, NASTY_ESCAPED)
    sections = [t for t in iter_blocks_text(blocks) if NASTY_ESCAPED in t]
    assert sections


def test_report_bounds_are_words() -> None:
    _, blocks = report_message(report(8))
    everything = "\n".join(iter_blocks_text(blocks))
    assert "`≥` at least" in everything
    assert "project 7: at most $200.00" in everything


def test_org_report_has_totals_only() -> None:
    r = report(0)
    text, blocks = report_message(r)
    assert_within_limits(text, blocks)
    assert "other / not itemized" not in "\n".join(iter_blocks_text(blocks))


# -- help and errors --------------------------------------------------------------------------


def test_help_with_suggestion_escapes_user_text() -> None:
    text, blocks = help_message("I did not understand `<!here> weekly`.", "project `<!here>`")
    assert_within_limits(text, blocks)
    for piece in [text, *iter_blocks_text(blocks)]:
        assert "<!here>" not in piece
    assert "Did you mean `project '&lt;!here&gt;'`?" in text
    assert "/ionq-usage budgets" in text


def test_help_alone_and_error() -> None:
    text, blocks = help_message()
    assert text.startswith("Usage: /ionq-usage")
    assert_within_limits(text, blocks)
    text, blocks = error_message("IonQ is not answering; try again in a few minutes.")
    assert text == "IonQ is not answering; try again in a few minutes."
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def test_a_name_with_backticks_cannot_end_the_table_code_block() -> None:
    import datetime as dt

    from budgetbot.reports.build import Cell, Column, Report, Row
    from budgetbot.usage import Bound

    d = Decimal
    report = Report(
        grouping="project",
        modality="weekly",
        start=dt.date(2026, 11, 16),
        end=dt.date(2026, 11, 23),
        now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        columns=(Column(dt.date(2026, 11, 16), dt.date(2026, 11, 23), False),),
        rows=(Row("p", "Evil ``` <!here> & co", (Cell(d(5), d(1)),), Bound(d(5), d(5))),),
        other=(d(0),),
        totals=(d(5),),
        qpu_hours=(d(0),),
        jobs=(d(1),),
        grand_total=d(5),
        other_total=d(0),
        qpu_hours_total=d(0),
        jobs_total=d(1),
        reported_total=d(5),
    )
    _, blocks = report_message(report)
    table = next(t for t in iter_blocks_text(blocks) if "Evil" in t)
    assert table.count("```") == 2  # only the block's own fences
    assert "&lt;!here&gt; &amp; co" in table and "&amp;amp;" not in table
