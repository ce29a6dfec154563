"""Slack's limits hold on every surface, whatever the names and however many budgets (item 15).

A law over every Block Kit renderer: with generated hostile and huge names (``<!channel>``,
``&``, mentions, 10,000 characters) and up to hundreds of budgets, every payload respects every
Block Kit limit, every cut is visible (an ellipsis) and never splits an escape sequence or a
mention, and what is shown plus the "… and N more budgets" counts equals the total.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgetbot.alerts.resolve import resolutions
from budgetbot.render.blocks import (
    alert_message,
    error_message,
    help_message,
    notice_message,
    report_message,
    with_alert_status,
)
from budgetbot.render.budgets import budgets_blocks
from budgetbot.render.digest import digest_blocks
from budgetbot.render.home import HomeAlert, home_view
from budgetbot.render.slack_text import cut, escape, fit_blocks
from budgetbot.reports.digest import DigestReport, TopEntry
from budgetbot.rules.findings import Burn, Figure
from tests.fakes.slack_api import block_kit_errors, iter_blocks_text
from tests.render.test_blocks import report
from tests.slack.conftest import make_finding

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
LAW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
#: Pieces hostile names are made of: Slack's special sequences, entities, emoji, plain words.
PIECES = ["<!channel>", "<!here>", "&", "&amp;", "<@U123>", ">", "<", "a", "Q ", "é", "🚀", "`"]
names = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join),
    st.tuples(st.sampled_from(PIECES), st.integers(1, 5000)).map(lambda t: t[0] * t[1]),
)
#: The spans of ours that may contain ``<``: mentions, user groups, links.
_SPAN = re.compile(r"<(@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+|https?://[^<>|\s]+\|[^<>]*)>")
_ROW = re.compile(r"^`[█░]+` ", re.MULTILINE)
_MORE = re.compile(r"(\d+) more budgets?\b")


def assert_safe(text: str) -> None:
    """No broken entity, no cut or foreign ``<…>`` (so nothing pings), and nothing unescaped."""
    assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[:300]
    assert ">" not in _SPAN.sub("", text) and "<" not in _SPAN.sub("", text), text[:300]
    for special in ("<!channel>", "<!here>", "<!everyone>"):
        assert special not in text


def assert_message(text: str, blocks: list[dict[str, Any]], *, max_blocks: int = 50) -> None:
    assert text and len(text) <= 3000
    assert block_kit_errors(blocks, max_blocks=max_blocks) == []
    for piece in [text, *iter_blocks_text(blocks)]:
        assert_safe(piece)


def burns(count: int, rules: int, name: str, description: str | None = None) -> list[Burn]:
    out = []
    for i in range(count):
        pct = Decimal(i * 37 % 150)
        out.append(
            Burn(
                rule=f"rule-{i % rules:03d}",
                scope="project",
                group_key=f"p{i}",
                group_name=f"{name}{i}",
                period="2026-11",
                period_start=dt.date(2026, 11, 1),
                period_end=dt.date(2026, 12, 1),
                measure="usd",
                budget=Decimal(1000),
                value=Figure(pct * 10, pct * 10),
                percent=Figure(pct, pct),
                forecast=Figure(pct * 20, pct * 20) if i % 2 else None,
                reaches_budget_on=dt.date(2026, 11, 25) if i % 3 == 0 else None,
                description=description,
            )
        )
    return sorted(out, key=lambda b: b.rule)


def shown_plus_more(blocks: list[dict[str, Any]]) -> int:
    text = "\n".join(iter_blocks_text(blocks))
    return len(_ROW.findall(text)) + sum(int(n) for n in _MORE.findall(text))


def digest(name: str, items: list[Burn]) -> DigestReport:
    start = dt.date(2026, 11, 9)
    top = [
        TopEntry(key=f"k{i}", name=name, value=Figure(Decimal(9), Decimal(9))) for i in range(10)
    ]
    return DigestReport(
        name="weekly",
        period="week",
        start=start,
        end=start + dt.timedelta(days=7),
        spend=Decimal(700),
        previous_spend=Decimal(600),
        qpu_hours=None,
        previous_qpu_hours=None,
        jobs=Decimal(3),
        previous_jobs=None,
        top_projects=top,
        top_users=top,
        top_jobs=top,
        daily=[(start + dt.timedelta(days=i), Decimal(100)) for i in range(7)],
        burns=items,
        top=10,
        source=name,
    )


# -- the law, renderer by renderer ------------------------------------------------------------


@LAW
@given(name=names, count=st.integers(0, 700), rules=st.integers(1, 80))
def test_budgets_fit_and_count_every_budget(name: str, count: int, rules: int) -> None:
    items = burns(count, rules, name)
    text, blocks = budgets_blocks(items, title="Budgets this period")
    assert_message(text, blocks)
    assert shown_plus_more(blocks) == count


@LAW
@given(name=names, count=st.integers(0, 700), rules=st.integers(1, 80))
def test_digest_fits_and_counts_every_budget(name: str, count: int, rules: int) -> None:
    text, blocks = digest_blocks(digest(name, burns(count, rules, name)))
    # One block is kept free for the chart's link.
    assert_message(text, blocks, max_blocks=49)
    assert shown_plus_more(blocks) == count


@LAW
@given(
    name=names,
    count=st.integers(0, 700),
    rules=st.integers(1, 150),
    alerts=st.integers(0, 15),
    description=st.none() | names,
)
def test_home_fits_and_counts_every_budget(
    name: str, count: int, rules: int, alerts: int, description: str | None
) -> None:
    items = burns(count, rules, name, description)
    recent = [
        HomeAlert(make_finding(group_name=name, rule=f"rule-{i}"), NOW, acknowledged_by=(name,))
        for i in range(alerts)
    ]
    view = home_view(items, recent, NOW, note=name or None)
    assert view["type"] == "home"
    assert block_kit_errors(view["blocks"], max_blocks=100) == []
    for piece in iter_blocks_text(view["blocks"]):
        assert_safe(piece)
    assert shown_plus_more(view["blocks"]) == count


@LAW
@given(name=names, rule=names, description=names, mentions=st.integers(0, 400))
def test_alerts_fit_whatever_the_names(
    name: str, rule: str, description: str, mentions: int
) -> None:
    for kind in ("spend", "forecast", "pace", "anomaly", "no_usd"):
        finding = make_finding(
            kind=kind,
            group_name=name,
            rule=rule,
            description=description,
            source=name,
            baseline=Decimal(10),
            pace=Figure(Decimal(130), Decimal(140)),
            day=dt.date(2026, 11, 19),
            top_jobs=((name, Decimal(5)),) * 5,
        )
        cc = [f"<@U{i:08d}>" for i in range(mentions)]
        text, blocks = alert_message(finding, mentions=cc, dedup_key=name)
        assert_message(text, blocks)
        status = [f"Acknowledged by {escape(name)}"] * 12
        assert block_kit_errors(with_alert_status(blocks, status), max_blocks=50) == []


@LAW
@given(name=names, kind=st.sampled_from(["spend", "forecast", "pace"]))
def test_resolved_and_outage_notices_fit(name: str, kind: str) -> None:
    [burn] = burns(1, 1, name)
    burn = burn.model_copy(
        update={"forecast": Figure(Decimal(1), Decimal(1)), "pace": Figure(Decimal(1), Decimal(1))}
    )
    [resolved] = resolutions([burn], {(burn.rule, burn.group_key, burn.period, kind): {"999"}})
    for raw in (resolved.text, f"IonQ usage data unavailable since {NOW}: {name}"):
        text, blocks = notice_message(raw)
        assert_message(text, blocks)
        shown = "".join(iter_blocks_text(blocks))
        # The figures at the end of a notice survive a long name: the cut is in the middle.
        if raw is resolved.text and len(escape(raw)) > 3000:
            assert "…" in shown and shown.endswith(escape(raw)[-200:])


@LAW
@given(name=names, groups=st.integers(0, 300), daily=st.booleans())
def test_reports_help_and_errors_fit(name: str, groups: int, daily: bool) -> None:
    assert_message(*report_message(report(groups, name=name + "{i}", daily=daily)))
    assert_message(*help_message(name, name))
    assert_message(*error_message(name))


texts = st.lists(
    st.sampled_from(["&amp;", "&lt;!channel&gt;", "<@U123>", "<https://x.test/a|b>", "ab", "é"]),
    max_size=1500,
).map("".join)
button = st.builds(
    lambda label, value: {
        "type": "button",
        "text": {"type": "plain_text", "text": label or "b"},
        "action_id": "a",
        "value": value or "v",
    },
    texts,
    texts,
)
block = st.one_of(
    st.builds(
        lambda t: {"type": "header", "text": {"type": "plain_text", "text": t or "h"}}, texts
    ),
    st.builds(lambda t: {"type": "section", "text": {"type": "mrkdwn", "text": t or "s"}}, texts),
    st.builds(
        lambda ts: {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": t or "f"} for t in ts],
        },
        st.lists(texts, min_size=1, max_size=14),
    ),
    st.builds(
        lambda ts: {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": t or "c"} for t in ts],
        },
        st.lists(texts, min_size=1, max_size=14),
    ),
    st.builds(
        lambda bs: {"type": "actions", "elements": bs}, st.lists(button, min_size=1, max_size=30)
    ),
    st.just({"type": "divider"}),
)


@LAW
@given(blocks=st.lists(block, max_size=120), max_blocks=st.sampled_from([50, 100]))
def test_the_guard_holds_any_payload_to_every_limit(
    blocks: list[dict[str, Any]], max_blocks: int
) -> None:
    """The one guard in render/: whatever a renderer built, what leaves is within the limits,
    cut safely, and blocks past the limit are counted."""
    fitted = fit_blocks(blocks, max_blocks)
    assert block_kit_errors(fitted, max_blocks=max_blocks) == []
    for piece in iter_blocks_text(fitted):
        assert_safe(piece)
    if len(blocks) > max_blocks:
        [n] = re.findall(r"… and (\d+) more blocks", fitted[-1]["elements"][0]["text"])
        assert len(fitted) - 1 + int(n) == len(blocks)
    else:
        assert len(fitted) == len(blocks)


# -- examples ---------------------------------------------------------------------------------


def test_a_5000_character_project_back_under_fits_one_section() -> None:
    """The issue's case: a 5,000-character name made a 5,100-character section."""
    [burn] = burns(1, 1, "P" * 5000)
    [resolved] = resolutions([burn], {(burn.rule, burn.group_key, burn.period, "spend"): {"999"}})
    _, [block] = notice_message(resolved.text)
    assert len(block["text"]["text"]) <= 3000 and "…" in block["text"]["text"]
    assert block["text"]["text"].endswith("the budget was raised or the figures corrected.")


def test_budgets_past_the_limit_are_counted_not_dropped() -> None:
    items = burns(500, 1, "Project ")
    for blocks in (
        budgets_blocks(items)[1],
        digest_blocks(digest("x", items))[1],
        home_view(items, [], NOW)["blocks"],
    ):
        text = "\n".join(iter_blocks_text(blocks))
        assert re.search(r"… and \d+ more budgets", text)
        assert shown_plus_more(blocks) == 500


def test_cut_keeps_entities_and_mentions_whole() -> None:
    text = "ab &amp; <@U123> <https://x.test/?a=1&amp;b=2|link> &lt;!channel&gt;"
    for limit in range(2, len(text) + 1):
        piece = cut(text, limit)
        assert len(piece) <= limit
        if piece != text:
            assert piece.endswith("…")
        assert_safe(piece)
    assert cut(text, len(text)) == text


def test_channel_stays_escaped_after_truncation() -> None:
    name = "<!channel> " * 900
    text, blocks = alert_message(make_finding(group_name=name), mentions=[])
    assert_message(text, blocks)
    joined = "\n".join([text, *iter_blocks_text(blocks)])
    assert "&lt;!channel&gt;" in joined and "…" in joined
