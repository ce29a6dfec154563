"""Reports and notifications as plain text for the terminal (pure)."""

from __future__ import annotations

from decimal import Decimal

from budgetbot.actions.model import Outcome, Proposal
from budgetbot.reports.build import Report
from budgetbot.rules.findings import Finding
from budgetbot.rules.kinds import KINDS

from .messages import alert_headline, alert_lines
from .text import bound_text, column_label, hours, money, safe_terminal

__all__ = ["render_action_result", "render_alert", "render_proposal", "render_report"]

NAME_WIDTH = 26
_TITLES = {"project": "project", "user": "user", "job": "job", "org": "organization"}


def _num(value: Decimal | None) -> str:
    return "n/a" if value is None else money(value, sign="")


def render_report(report: Report) -> str:
    """The report as a fixed-width table with a legend for every marker it uses."""
    last_day = report.end.fromordinal(report.end.toordinal() - 1)
    lines = [
        f"IonQ spend by {_TITLES[report.grouping]}, {report.modality},"
        f" {report.start} to {last_day} (UTC days), USD",
        "",
    ]
    labels = [
        column_label(c.start, report.modality) + ("*" if c.partial else "") for c in report.columns
    ]
    cells_width = max([12, *(len(x) + 1 for x in labels)])

    def line(name: str, values: list[str], total: str) -> str:
        shown = safe_terminal(name)
        if len(shown) > NAME_WIDTH:
            shown = shown[: NAME_WIDTH - 1] + "…"
        body = "".join(v.rjust(cells_width) for v in values)
        return f"{shown:<{NAME_WIDTH}}{body}{total.rjust(cells_width + 2)}"

    lines.append(line(_TITLES[report.grouping], labels, "total"))
    lines.append("-" * len(lines[-1]))
    for row in report.rows:
        values = ["·" if c.listed is None else _num(c.listed) for c in row.cells]
        total = row.total
        shown = "n/a" if total is None else ("" if total.exact else "≥") + _num(total.low)
        lines.append(line(row.name, values, shown))
    if report.rows:
        lines.append(
            line("other / not itemized", [_num(v) for v in report.other], _num(report.other_total))
        )
        lines.append("-" * len(lines[1 + 1]))
    lines.append(line("total (IonQ)", [_num(v) for v in report.totals], _num(report.grand_total)))
    lines.append(
        line("QPU hours", [hours(v) for v in report.qpu_hours], hours(report.qpu_hours_total))
    )
    lines.append(
        line(
            "jobs",
            [f"{v:,.0f}" if v is not None else "n/a" for v in report.jobs],
            f"{report.jobs_total:,.0f}" if report.jobs_total is not None else "n/a",
        )
    )
    legend = []
    if any(c.partial for c in report.columns):
        legend.append("* to date: the bucket includes today, which is not over yet")
    if any(c.listed is None for r in report.rows for c in r.cells):
        legend.append("· not itemized: outside IonQ's top 5 for that bucket; counted in 'other'")
    bounded = [r for r in report.rows if r.total is not None and not r.total.exact]
    if bounded:
        legend.append("≥ at least: part of the figure is hidden by IonQ's top-5 lists")
        for row in bounded:
            legend.append(f"    {safe_terminal(row.name)}: {bound_text(row.total)}")
    legend.extend(report.notes)
    if legend:
        lines.append("")
        lines.extend(legend)
    return "\n".join(lines) + "\n"


def render_alert(finding: Finding, *, channel: str | None, threaded: bool) -> str:
    """An alert as the terminal shows it: where it would go, the headline, then context."""
    where = channel or "(default channel)"
    tag = KINDS[finding.kind].tag
    lines = [f"[{where}] {tag} {finding.rule}: {safe_terminal(alert_headline(finding))}"]
    lines += [f"    {safe_terminal(line)}" for line in alert_lines(finding)]
    if finding.mention:
        lines.append(f"    cc {', '.join(finding.mention)}")
    if threaded:
        lines.append("    (in the thread of the first alert of this rule and period)")
    return "\n".join(lines) + "\n"


def render_proposal(proposal: Proposal, *, channel: str | None, threaded: bool) -> str:
    """A budget action's proposal as the terminal shows it (no button: ``budgetbot`` lists it)."""
    where = channel or "(default channel)"
    how = (
        "done at once (automatic)"
        if proposal.approval == "automatic"
        else f"approvers: {', '.join(proposal.approvers)}"
    )
    dry = " [dry run: nothing will be cancelled]" if proposal.mode == "dry-run" else ""
    lines = [
        f"[{where}] ACTION {proposal.rule}: {safe_terminal(proposal.summary)}{dry}",
        f"    at {proposal.level_text}% of {proposal.kind}; {how};"
        f" expires {proposal.expires_at:%Y-%m-%d %H:%M} UTC; id {proposal.id}",
    ]
    if threaded:
        lines.append("    (in the thread of the alert)")
    return "\n".join(lines) + "\n"


def render_action_result(outcome: Outcome, *, channel: str | None) -> str:
    """What an action did, as the terminal shows it: the message, then one line per job."""
    where = channel or "(default channel)"
    lines = [f"[{where}] ACTION RESULT {safe_terminal(outcome.message)}"]
    for job in outcome.jobs:
        why = f" ({job.reason})" if job.reason else ""
        lines.append(f"    {job.result:<12} {safe_terminal(job.label)}{safe_terminal(why)}")
    return "\n".join(lines) + "\n"
