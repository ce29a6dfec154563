"""The words of an alert, shared by the terminal and Slack (pure; no escaping here)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal
from typing import TypeVar

from budgetbot.rules.findings import Burn, Figure, Finding, QueueStanding, level_text
from budgetbot.rules.kinds import KINDS
from budgetbot.usage.measures import MEASURES, Measure

__all__ = [
    "alert_headline",
    "alert_lines",
    "amount",
    "figure_text",
    "fill",
    "percent_text",
    "period_words",
    "queue_line",
    "queue_text",
    "resolved_text",
    "subject",
]

#: How many of the largest queued jobs an alert names ("and N more" for the rest).
SHOWN_JOBS = 3


def amount(value: Decimal, measure: str) -> str:
    return MEASURES[measure].format(value)


def figure_text(value: Figure, measure: str) -> str:
    """``$4,100.00``, ``at least $4,100.00`` or ``between $4,100.00 and $4,400.00``."""
    if value.exact:
        return amount(value.low, measure)
    if value.low == 0:
        return f"at most {amount(value.high, measure)}"
    return f"between {amount(value.low, measure)} and {amount(value.high, measure)}"


def percent_text(value: Figure) -> str:
    def pct(v: Decimal) -> str:
        # Rounded down: 99.6% must not read "100%" on an alert whose 100% level has not fired.
        return f"{v.quantize(Decimal(1), rounding=ROUND_FLOOR):,}%"

    if value.exact:
        return pct(value.low)
    if value.low == 0:
        return f"at most {pct(value.high)}"
    return f"between {pct(value.low)} and {pct(value.high)}"


def _day(day: dt.date) -> str:
    return day.strftime("%b %d").replace(" 0", " ")


def period_words(start: dt.date, end: dt.date) -> str:
    """``November``, ``Q4 2026``, ``week of Nov 16``, ``Nov 20``, ``2026`` for a UTC period."""
    days = (end - start).days
    if days == 1:
        return _day(start)
    if days == 7:
        return f"week of {_day(start)}"
    if 28 <= days <= 31:
        return start.strftime("%B")
    if 89 <= days <= 92:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def _shorten(name: str, limit: int | None) -> str:
    return name if limit is None or len(name) <= limit else name[: limit - 1] + "…"


def subject(f: Burn, name_limit: int | None = None) -> tuple[str, bool]:
    """Who the finding is about, for the start of a sentence, and whether it is plural.

    ``name_limit`` cuts a longer group name (with an ellipsis): Slack's blocks have limits.
    """
    name = _shorten(f.group_name, name_limit)
    if f.scope == "organization":
        return "The organization", False
    if f.plural:
        if name.startswith("all "):
            return name.capitalize(), True
        return f"{f.scope.capitalize()}s {name}", True
    return name, False


class _Words(dict[str, str]):
    """The words a kind's template may use, each made only when the template asks for it."""

    def __init__(self, f: Burn, name_limit: int | None, level: Decimal | None) -> None:
        super().__init__()
        self.f, self.name_limit, self.level = f, name_limit, level

    def __missing__(self, key: str) -> str:
        f = self.f
        who, plural = subject(f, self.name_limit)
        shown: str = {
            "who": lambda: who,
            "has": lambda: "have" if plural else "has",
            "is": lambda: "are" if plural else "is",
            "its": lambda: "their" if plural else "its",
            "period": lambda: period_words(f.period_start, f.period_end),
            "budget": lambda: amount(f.budget or Decimal(0), f.measure),
            "value": lambda: figure_text(f.value, f.measure),
            "percent": lambda: percent_text(_given(f.percent)),
            "pace": lambda: percent_text(_given(f.pace)),
            "forecast": lambda: figure_text(_given(f.forecast), f.measure),
            "last_day": lambda: _day(f.period_end - dt.timedelta(days=1)),
            "day": lambda: _day(f.period_start),
            "level": lambda: level_text(_given(self.level)),
            "mark": lambda: f"{level_text(_given(self.level))}%",
            "baseline": lambda: amount(_given(getattr(f, "baseline", None)), f.measure),
            "committed": lambda: figure_text(_given(f.committed), f.measure),
            "committed_percent": lambda: percent_text(_given(f.committed_percent)),
            "spent": lambda: "spent" if f.measure == Measure.USD.key else "used",
            "queued": lambda: _queued(_given(f.queue), f.measure),
        }[key]()  # type: ignore[no-untyped-call]
        self[key] = shown
        return shown


_T = TypeVar("_T")


def _given(value: _T | None) -> _T:
    assert value is not None, "the kind's template names a figure the finding lacks"
    return value


def _jobs(count: int) -> str:
    return f"{count:,} queued job{'' if count == 1 else 's'}"


def _queued(queue: QueueStanding, measure: str) -> str:
    """``$400.00 in 3 queued jobs``; ``nothing queued``; for a jobs budget ``3 queued jobs``."""
    if queue.jobs == 0:
        return "nothing queued"
    if measure == Measure.JOBS.key:
        return _jobs(queue.jobs)
    return f"{amount(_given(queue.amount), measure)} in {_jobs(queue.jobs)}"


def queue_text(queue: QueueStanding, measure: str) -> str:
    """A queue in a few words, for a field or a table cell: never "$0" where it is unknown."""
    if queue.state == "not_visible":
        return "queue not visible"
    if queue.state == "no_estimate":
        return f"{_jobs(queue.jobs)}, {_no_estimate(measure)}"
    return _queued(queue, measure)


def _no_estimate(measure: str) -> str:
    if measure == Measure.USD.key:
        return "some in credits without a USD estimate"
    return f"some without an estimate in {MEASURES[measure].label}"


def queue_line(f: Burn, name_limit: int | None = None) -> str | None:
    """The queue under an alert of a policy with ``committed_at``: its largest jobs (name or
    id, submitter, estimate), or why committed spend is not counted. None: not read."""
    queue = f.queue
    if queue is None:
        return None
    if queue.state == "not_visible":
        whose = "the organization's" if f.scope == "organization" else f"this {f.scope}'s"
        return (
            f"Queue not visible: no configured IonQ key sees {whose} whole queue, so committed"
            " spend is not counted (a project key in IONQ_PROJECT_KEYS makes it visible)."
        )
    if queue.state == "no_estimate":
        return f"Committed spend not counted: {queue_text(queue, f.measure)}."
    if queue.jobs == 0:
        return "Nothing queued or running now."
    shown = [
        f"{_shorten(job.label, name_limit)} ({_shorten(job.submitter, name_limit)}, "
        + ("no estimate" if job.amount is None else amount(job.amount, f.measure))
        + ")"
        for job in queue.largest[:SHOWN_JOBS]
    ]
    more = queue.jobs - len(shown)
    if more > 0:
        shown.append(f"and {more:,} more")
    return f"Queued now: {_queued(queue, f.measure)}; largest: {', '.join(shown)}"


def fill(template: str, f: Burn, name_limit: int | None = None, **more: str) -> str:
    """A kind's template in the words of burn or finding ``f`` (``more``: further words)."""
    words = _Words(f, name_limit, getattr(f, "level", None))
    words.update(more)
    return template.format_map(words)


def alert_headline(f: Finding, name_limit: int | None = None) -> str:
    """One line, the notification text mobile clients show (``name_limit``: see
    :func:`subject`)."""
    return fill(KINDS[f.kind].headline, f, name_limit)


def resolved_text(burn: Burn, kind: str, level: Decimal, now: Figure) -> str:
    """The "back under" notice of ``kind`` at ``level``, ``now`` the figure compared."""
    template = KINDS[kind].resolved
    assert template is not None, f"{kind} findings are never resolved"
    words = _Words(burn, None, level)
    words["now"] = percent_text(now)
    return template.format_map(words)


def alert_lines(f: Finding, name_limit: int | None = None) -> list[str]:
    """Context under the headline: forecast, method, and where the rule is defined
    (``name_limit`` cuts job names and the description)."""
    lines = []
    if KINDS[f.kind].facts == "budget":
        if f.forecast is not None and f.daily_rate is not None:
            last_day = _day(f.period_end - dt.timedelta(days=1))
            line = (
                f"At this pace: {figure_text(f.forecast, f.measure)} by {last_day}"
                f" (a usual day: {figure_text(f.daily_rate, f.measure)}, by weekday over the"
                f" last {f.rate_days} full days)"
            )
            not_yet = f.percent is not None and f.percent.low < 100
            if f.reaches_budget_on is not None and not_yet:
                when = _day(f.reaches_budget_on)
                # From lower bounds: a bounded figure reaches the budget no later than that.
                exact = f.value.exact and f.forecast.exact
                line += f"; it reaches 100% {'on' if exact else 'by'} {when}"
                line += "" if exact else " at the latest"
            lines.append(line)
        else:
            lines.append("No forecast yet: too little of the period has passed.")
        if not f.value.exact:
            lines.append(
                "Part of this figure is hidden by IonQ's top-5 lists: the range it must lie in"
                " is shown."
            )
        queued = queue_line(f, name_limit)
        if queued is not None:
            lines.append(queued)
    if f.top_jobs:
        jobs = ", ".join(
            f"{_shorten(name, name_limit)} ({amount(usd, 'usd')})" for name, usd in f.top_jobs
        )
        lines.append(f"Top jobs that day, all projects: {jobs}")
    if f.description:
        lines.append(_shorten(f.description, name_limit))
    source = _shorten(f.source or "no file", name_limit)
    lines.append(f"Rule {_shorten(f.rule, name_limit)} ({source}), period {f.period} (UTC)")
    return lines
