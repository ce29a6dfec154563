"""Committed alerts as Slack blocks and terminal text: bounds as bounds, the largest queued jobs,
"queue not visible", and IonQ's job and submitter names escaped."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from budgetbot.alerts.resolve import resolutions
from budgetbot.render.blocks import alert_message
from budgetbot.render.messages import alert_headline, queue_text
from budgetbot.render.terminal import render_alert
from budgetbot.rules.engine import burns_of, evaluate_plan
from budgetbot.rules.findings import Finding
from budgetbot.rules.models import Policy
from budgetbot.rules.planner import plan_cycle
from tests.rules.queue_data import NAMES, NOW, answers, job, snapshot

D = Decimal
HOSTILE_JOB = "<!channel> & <https://evil.example|click> \x1b[31mred"
HOSTILE_USER = "<@U0HOSTILE> \x07bell"
REMAINDER = D(300)
CHEM = Policy.model_validate(
    {
        "name": "chem",
        "scope": "project",
        "match": ["Quantum Chem"],
        "each": True,
        "budget": {"usd": 2000},
        "committed_at": [100],
    }
)


def _committed(other: Decimal = REMAINDER, **listed: Decimal) -> Finding:
    planned = plan_cycle([CHEM], (), NOW)
    queue = dataclasses.replace(
        snapshot(
            job("j-1", usd="900", name=HOSTILE_JOB, user="u-evil"),
            *(job(f"j-{i}", usd="100") for i in range(2, 7)),
        ),
        names={**NAMES, "u-evil": HOSTILE_USER},
    )
    data = answers(planned, listed, other=other)
    [found] = [f for f in evaluate_plan(planned, data, queue) if f.kind == "committed"]
    return found


def test_slack_blocks_escape_queued_job_and_submitter_names() -> None:
    finding = _committed(**{"p-chem": D(1700)})
    text, blocks = alert_message(finding, mentions=[])
    shown = json.dumps(blocks)
    assert "<!channel>" not in shown and "<@U0HOSTILE>" not in shown and "<https" not in shown
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in shown
    assert "&lt;@U0HOSTILE&gt;" in shown
    assert "$900.00), j-2 (Alice, $100.00), j-3 (Alice, $100.00), and 3 more" in shown
    assert text.startswith(
        "Quantum Chem has committed 155% of its November budget: $1,700.00 spent + $1,400.00 in"
        " 6 queued jobs ($3,100.00 of $2,000.00)"
    )
    fields = next(b["fields"] for b in blocks if "fields" in b)
    assert {"type": "mrkdwn", "text": "*Queued now*\n$1,400.00 in 6 queued jobs"} in fields
    assert {"type": "mrkdwn", "text": "*Committed*\n$3,100.00"} in fields


def test_terminal_text_drops_control_characters() -> None:
    shown = render_alert(_committed(**{"p-chem": D(1700)}), channel="#c", threaded=False)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "Queued now: $1,400.00 in 6 queued jobs; largest: <!channel> & <https:" in shown
    assert "?[31mred (<@U0HOSTILE> ?bell, $900.00)" in shown


def test_bounded_spend_reads_as_a_range() -> None:
    # Unlisted, Quantum Chem's spend is somewhere in the $800 remainder: it only queues as far
    # as IonQ lists, yet it is budgeted, and only the upper bound crosses.
    finding = _committed(D(800))
    assert not finding.certain and not finding.value.exact
    assert alert_headline(finding) == (
        "Quantum Chem has committed between 70% and 110% of its November budget: at most"
        " $800.00 spent + $1,400.00 in 6 queued jobs (between $1,400.00 and $2,200.00 of"
        " $2,000.00)"
    )
    _, blocks = alert_message(finding, mentions=[])
    assert "*Committed*\\nbetween $1,400.00 and $2,200.00" in json.dumps(blocks)
    assert "Only the upper bound of this figure crosses the level" in json.dumps(blocks)


def test_queue_words_never_say_zero_for_an_unknown_queue() -> None:
    planned = plan_cycle([CHEM], (), NOW)
    data = answers(planned, {"p-chem": D(100)})
    [hidden] = burns_of(planned, data, snapshot(job("a"), covered=()))
    assert hidden.queue is not None and queue_text(hidden.queue, "usd") == "queue not visible"
    [credits] = burns_of(planned, data, snapshot(job("a", unit="credit")))
    assert credits.queue is not None
    assert queue_text(credits.queue, "usd") == (
        "1 queued job, some in credits without a USD estimate"
    )
    [empty] = burns_of(planned, data, snapshot())
    assert empty.queue is not None and queue_text(empty.queue, "usd") == "nothing queued"


def test_back_under_names_both_parts() -> None:
    planned = plan_cycle([CHEM], (), NOW)
    fired = {("chem", "p-chem", "2026-11", "committed"): {"100"}}
    data = answers(planned, {"p-chem": D(1700)})
    [burn] = burns_of(planned, data, snapshot(job("a", usd="50")))
    [r] = resolutions([burn], fired)
    assert r.text == (
        "Back under 100% committed: Quantum Chem has now committed 87% of its November budget:"
        " $1,700.00 spent + $50.00 in 1 queued job ($1,750.00 of $2,000.00)."
    )
    # Not read, not visible: never "back under".
    for queue in (None, snapshot(covered=())):
        [unknown] = burns_of(planned, data, queue)
        assert resolutions([unknown], fired) == []
