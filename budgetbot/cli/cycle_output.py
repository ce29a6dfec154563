"""What a check cycle did, printed for a terminal: alerts (on a dry run), what was held back and
why, what was not delivered, and one summary line on stderr."""

from __future__ import annotations

import datetime as dt

import click

from budgetbot.alerts.cycle import CycleResult
from budgetbot.alerts.decide import Reason
from budgetbot.render.messages import queue_text
from budgetbot.render.terminal import render_alert, render_proposal
from budgetbot.render.text import safe_terminal

__all__ = ["print_cycle"]


def print_cycle(result: CycleResult, now: dt.datetime, *, dry_run: bool) -> None:
    for d in result.decisions:
        if dry_run and d.notify:
            click.echo(
                render_alert(d.finding, channel=d.finding.channel, threaded=False)
                + f"    -> would notify: {d.reason.value}"
            )
        elif not d.notify and d.reason in (Reason.UNCERTAIN, Reason.SNOOZED):
            why = d.reason.value
            if d.reason is Reason.SNOOZED and d.until is not None:
                why = f"SNOOZED until {d.until:%Y-%m-%d %H:%M} UTC"
            click.echo(
                f"  not notified ({why}): {d.finding.rule} {d.finding.kind}"
                f" {d.finding.level_text}% for {d.finding.group_name}",
                err=True,
            )
    if dry_run:
        for proposal in result.proposals:
            click.echo(
                render_proposal(proposal, channel=proposal.channel, threaded=False)
                + "    -> would propose"
                + (" and carry out at once" if proposal.approval == "automatic" else "")
            )
        for burn in result.uncounted:
            assert burn.queue is not None  # only burns whose queue was read are listed
            click.echo(
                f"  committed spend not checked: {burn.rule} for"
                f" {safe_terminal(burn.group_name)}: {queue_text(burn.queue, burn.measure)}"
            )
    if dry_run:
        _print_ledger(result)
    if result.ledger_error:
        click.echo(
            f"  figures are IonQ's alone: the job ledger is unavailable: {result.ledger_error}",
            err=True,
        )
    if result.queue_error:
        click.echo(
            f"  committed spend not checked: IonQ queue unavailable: {result.queue_error}",
            err=True,
        )
    for outcome in result.actions:
        click.echo(f"  budget action {outcome.state}: {safe_terminal(outcome.message)}", err=True)
    for note, error in result.failed:
        click.echo(
            f"  not delivered (kept for the next cycle): {note.dedup_key}: {error}", err=True
        )
    for waiting in result.waiting:
        click.echo(f"  left to the live process delivering it: {waiting}", err=True)
    click.echo(
        f"check at {now:%Y-%m-%dT%H:%MZ}: {result.queries} IonQ queries,"
        + (
            f" {sum(result.queue_requests.values())} IonQ queue requests,"
            if result.queue_requests
            else ""
        )
        + (
            f" {sum(result.ledger_requests.values())} IonQ ledger requests,"
            if result.ledger_requests
            else ""
        )
        + f" {len(result.findings)} findings, {len(result.to_notify)} to notify"
        + ("" if dry_run else f", {len(result.sent)} sent, {len(result.failed)} failed")
        + (f", {len(result.waiting)} being sent by another process" if result.waiting else ""),
        err=True,
    )


#: Buckets the ledger could not make exact, listed on a dry run (the log has each cycle's).
_REASONS_SHOWN = 10


def _print_ledger(result: CycleResult) -> None:
    kept = [r for r in result.ledger_reasons if r.kind != "unread"]
    for reason in kept[:_REASONS_SHOWN]:
        click.echo(f"  kept as bounds (the ledger does not add up): {safe_terminal(str(reason))}")
    if len(kept) > _REASONS_SHOWN:
        click.echo(f"  kept as bounds: {len(kept) - _REASONS_SHOWN} more buckets")
