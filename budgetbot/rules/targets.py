"""Whom a rule is about, and a target's figure in one window (pure).

A rule's targets are single groups (``each``), several counted together, or the organization;
unlisted groups matching a glob are bounded by IonQ's remainders, never taken for zero.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from budgetbot.ionq import UsageQuery
from budgetbot.usage.model import Bound, Measure, UsageSeries

from .findings import ALL_GROUPS

__all__ = ["UNSEEN", "Answers", "Target", "daily_figures", "figure_of", "matches", "targets_of"]

#: Stands for every matching group IonQ never listed: its spend hides in the remainders.
UNSEEN = "\x00unseen"


@dataclass
class Answers:
    """The answers to one plan, with what the engine derives from them while it evaluates.

    Many rules share a group's targets and rates; they are kept here, for one evaluation, and
    not on the (immutable, cached) series.
    """

    data: Mapping[UsageQuery, UsageSeries]
    targets: dict[object, list[Target]] = field(default_factory=dict)
    rates: dict[object, tuple[tuple[Bound, ...], Bound] | None] = field(default_factory=dict)


def matches(patterns: Sequence[str] | None, key: str, name: str) -> bool:
    """Whether a group (its key or name) matches a rule's globs; None matches every group."""
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(key, p) for p in patterns)


@dataclass(frozen=True)
class Target:
    """One budget's subject: a single group, or several counted together."""

    key: str
    name: str
    keys: tuple[str, ...] | None  # None: the whole organization (exact totals)
    plural: bool = False


def targets_of(
    answers: Answers,
    scope: str,
    match: Sequence[str] | None,
    each: bool,
    series: Sequence[UsageSeries],
) -> list[Target]:
    """The targets of a rule; many rules share them, so they are kept with the answers."""
    if scope == "organization":
        return [Target(ALL_GROUPS, "the organization", None)]
    # The series live as long as the answers, so their ids are not reused meanwhile.
    key = (scope, tuple(match) if match else None, each, tuple(id(s) for s in series))
    found = answers.targets.get(key)
    if found is None:
        found = answers.targets[key] = _findtargets(scope, match, each, series)
    return found


def _findtargets(
    scope: str, match: Sequence[str] | None, each: bool, series: Sequence[UsageSeries]
) -> list[Target]:
    names: dict[str, str] = {}
    for s in series:
        for key, name in s.group_names().items():
            names.setdefault(key, name)
    keys = [k for k, n in names.items() if matches(match, k, n)]
    if each:
        return [Target(k, names[k], (k,)) for k in sorted(keys, key=lambda k: names[k])]
    plural = f"all {scope}s"
    if match is None:
        return [Target(ALL_GROUPS, plural, None, True)]  # every group together: the org total
    label = ", ".join(match)
    # A group IonQ never listed may match a glob, or be the one an exact name means: its spend
    # hides in the remainders, so it is bounded, not zero.
    unseen = any(
        any(ch in p for ch in "*?[") or not any(p in (k, names[k]) for k in keys) for p in match
    )
    if not unseen and len(keys) == 1:
        return [Target(ALL_GROUPS, names[keys[0]], tuple(keys))]
    return [Target(ALL_GROUPS, label, (*keys, UNSEEN) if unseen else tuple(keys), True)]


def figure_of(
    series: UsageSeries, target: Target, measure: Measure, start: dt.date, end: dt.date
) -> Bound | None:
    if target.keys is None:
        total = series.total(measure, start, end)
        return None if total is None else Bound(total, total)
    return series.figure(target.keys, measure, start, end)


def daily_figures(
    series: UsageSeries, target: Target, measure: Measure, start: dt.date, end: dt.date
) -> list[tuple[dt.date, Bound]] | None:
    """The target's figure on each day of ``[start, end)`` of a daily series."""
    out = []
    day = start
    while day < end:
        nxt = day + dt.timedelta(days=1)
        value = figure_of(series, target, measure, day, nxt)
        if value is None:
            return None
        out.append((day, value))
        day = nxt
    return out
