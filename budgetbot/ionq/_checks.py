"""Reading a usage answer: JSON text → ``Usages``, refused whole when it breaks IonQ's invariants.

IonQ's answers are believed only when they are self-consistent, because a wrong figure does more
harm than a missing one: it raises false alerts, is stored as settled and never fetched again, and
hides real alerts later. An answer is refused (``IonQInvalidAnswer``) when

- a number is not a finite, non-negative JSON number below ``MAX_AMOUNT`` (``_models``);
- a bucket is dated outside the request, not at the start of a bucket of the modality asked, or
  twice;
- a listed group has no identity (neither id nor name) or is listed twice in a bucket;
- the listed groups add up to more than their bucket (amount in one unit, QPU time, jobs);
- the answer's totals are not the sum of its buckets, or it answers another ``group_by`` or
  ``modality`` than asked.

IonQ writes each figure rounded, so sums are compared with a tolerance of a cent (amounts) or a
microsecond (QPU time) per term added; job counts are exact.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NoReturn

import pydantic

from ._errors import IonQInvalidAnswer, IonQResponseError
from ._models import INVARIANT, GroupUsage, Modality, Usage, UsageAmount, UsageQuery, Usages

__all__ = ["check_usages", "parse_usages"]

#: Rounding slack per figure added: IonQ rounds amounts to the cent and QPU time to the µs.
CENT = Decimal("0.01")
MICROSECOND = Decimal(1)
#: Integers longer than this are read as ``Decimal`` and then refused by the range checks, so
#: Python's int-from-text limit (4,300 digits) never raises out of the JSON parser.
_LONGEST_INT = 30


def _constant(name: str) -> Decimal:
    # ``NaN`` and ``Infinity`` are not JSON, but Python's parser accepts them: keep them as
    # ``Decimal`` so the field checks refuse them by name and place.
    return Decimal(name)


def _int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _LONGEST_INT else Decimal(text)


def parse_usages(text: str, query: UsageQuery, *, path: str = "") -> Usages:
    """IonQ's answer to ``query`` from its JSON text, checked.

    Raises ``IonQResponseError`` when the text is not JSON or misses a required field, and
    ``IonQInvalidAnswer`` (retryable) when it breaks an invariant; both name the field.
    """
    body = parse_json(text, path)
    try:
        answer = Usages.model_validate(body)
    except pydantic.ValidationError as exc:
        raise response_error(exc, path) from None
    check_usages(answer, query, path=path)
    return answer


def parse_json(text: str, path: str, *, method: str = "GET") -> Any:
    """JSON with exact numbers: floats as ``Decimal``; ``NaN``/``Infinity`` refused."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise IonQResponseError(
            f"IonQ answered {method} {path} with malformed JSON ({exc.msg} at line {exc.lineno}"
            f" column {exc.colno})",
            field="(body)",
            path=path,
        ) from None
    except (ValueError, RecursionError) as exc:
        raise IonQResponseError(
            f"IonQ answered {method} {path} with unreadable JSON ({type(exc).__name__})",
            field="(body)",
            path=path,
        ) from None


def response_error(
    exc: pydantic.ValidationError, path: str, *, method: str = "GET"
) -> IonQResponseError:
    """One error naming the first problem: an invariant broken if any, else a missing field."""
    errors = exc.errors()
    broken = [e for e in errors if e["type"] == INVARIANT]
    first = (broken or errors)[0]
    field = _dotted(first["loc"])
    if first["type"] == "missing":
        message = f"IonQ's answer to {method} {path} misses the required field {field}"
    else:
        message = f"IonQ's answer to {method} {path} has an unusable {field}: {first['msg']}"
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    if broken:
        return IonQInvalidAnswer(message, field=field, path=path)
    return IonQResponseError(message, field=field, path=path)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(body)"


class _Refuse:
    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, field: str, problem: str) -> NoReturn:
        raise IonQInvalidAnswer(
            f"IonQ's answer to GET {self.path} is inconsistent at {field}: {problem}",
            field=field,
            path=self.path,
        )


def check_usages(answer: Usages, query: UsageQuery, *, path: str = "") -> None:
    """Raise ``IonQInvalidAnswer`` when ``answer`` breaks IonQ's invariants for ``query``."""
    refuse = _Refuse(path)
    if answer.group_type is not None and answer.group_type != query.group_by:
        refuse("group_type", f"grouped by {answer.group_type.value}, asked {query.group_by.value}")
    if answer.modality is not None and answer.modality != query.modality:
        refuse("modality", f"{answer.modality.value} buckets, asked {query.modality.value}")
    if answer.usage_data is None:
        return  # no buckets: nothing to check the totals against (the usage layer says so)
    seen: dict[dt.date, int] = {}
    for index, usage in enumerate(answer.usage_data):
        where = f"usage_data[{index}]"
        start = _bucket_start(usage.from_, query)
        if start is None:
            refuse(
                f"{where}.from",
                f"a bucket dated {usage.from_} is outside {query.start}..{query.end} (end"
                f" exclusive) or not at the start of a {query.modality.value} bucket",
            )
        if start in seen:
            refuse(f"{where}.from", f"a second bucket for {start} (usage_data[{seen[start]}])")
        seen[start] = index
        _check_groups(usage, where, answer.usage_unit, refuse)
    _check_totals(answer, answer.usage_data, refuse)


def _natural_end(start: dt.date, modality: Modality) -> dt.date:
    # As ``usage.normalize.natural_end``, which depends on this package, not the other way.
    if modality is Modality.DAILY:
        return start + dt.timedelta(days=1)
    if modality is Modality.WEEKLY:
        return start + dt.timedelta(days=7 - start.weekday())
    return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _aligned(day: dt.date, modality: Modality) -> bool:
    if modality is Modality.WEEKLY:
        return day.weekday() == 0
    if modality is Modality.MONTHLY:
        return day.day == 1
    return True


def _bucket_start(day: dt.date, query: UsageQuery) -> dt.date | None:
    """Where the bucket IonQ dated ``day`` starts within the query, or None if it cannot."""
    if query.start <= day < query.end:
        return day if day == query.start or _aligned(day, query.modality) else None
    # Some APIs label the clipped first bucket with its calendar start (``usage.normalize``).
    if day < query.start < _natural_end(day, query.modality) and _aligned(day, query.modality):
        return query.start
    return None


def _unit(own: str | None, *defaults: str | None) -> str:
    for unit in (own, *defaults):
        if unit:
            return unit.upper()
    return "USD"


def _per_unit(amounts: Iterable[UsageAmount]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for entry in amounts:
        if entry.unit and entry.amount is not None:
            out[entry.unit.upper()] += entry.amount
    return out


def _check_groups(usage: Usage, where: str, usage_unit: str | None, refuse: _Refuse) -> None:
    groups = usage.group_usages
    keys: dict[str, int] = {}
    for index, group in enumerate(groups):
        if not (group.group_id or group.group_name):
            refuse(f"{where}.group_usages[{index}]", "a listed group has neither id nor name")
        if group.key in keys:
            refuse(
                f"{where}.group_usages[{index}]",
                f"group {group.key!r} is listed twice (also group_usages[{keys[group.key]}])",
            )
        keys[group.key] = index
    unit = _unit(usage.amount_unit, usage_unit)
    same_unit = [
        g.amount
        for g in groups
        if g.amount is not None and _unit(g.amount_unit, usage.amount_unit, usage_unit) == unit
    ]
    _at_most(same_unit, usage.amount, CENT, f"{where}.amount", "listed groups' amounts", refuse)
    times = [g.time_us for g in groups if g.time_us is not None]
    _at_most(times, usage.time_us, MICROSECOND, f"{where}.time_us", "listed groups' time", refuse)
    jobs = [Decimal(g.job_count) for g in groups if g.job_count is not None]
    _at_most(
        jobs, Decimal(usage.job_count), Decimal(0), f"{where}.job_count", "listed jobs", refuse
    )
    if usage.amounts is not None:
        bucket = _per_unit(usage.amounts)
        for name, parts in _group_parts(groups).items():
            _at_most(
                parts,
                bucket.get(name, Decimal(0)),
                CENT,
                f"{where}.amounts",
                f"listed groups' {name} amounts",
                refuse,
            )


def _group_parts(groups: Sequence[GroupUsage]) -> dict[str, list[Decimal]]:
    out: dict[str, list[Decimal]] = defaultdict(list)
    for group in groups:
        for name, value in _per_unit(group.amounts or ()).items():
            out[name].append(value)
    return out


def _at_most(
    parts: Sequence[Decimal],
    whole: Decimal,
    slack: Decimal,
    field: str,
    what: str,
    refuse: _Refuse,
) -> None:
    total = sum(parts, Decimal(0))
    if total > whole + slack * len(parts):
        refuse(field, f"the {what} add up to {total}, more than the bucket's {whole}")


def _check_totals(answer: Usages, data: Sequence[Usage], refuse: _Refuse) -> None:
    terms = len(data) + 1
    if answer.job_count is not None:
        jobs = sum(u.job_count for u in data)
        if answer.job_count != jobs:
            refuse("job_count", f"{answer.job_count} jobs in all, but the buckets hold {jobs}")
    if answer.time_us_total is not None:
        time_us = sum((u.time_us for u in data), Decimal(0))
        if abs(answer.time_us_total - time_us) > MICROSECOND * terms:
            refuse(
                "time_us_total",
                f"{answer.time_us_total} µs in all, but the buckets hold {time_us}",
            )
    unit = _unit(answer.usage_unit)
    if answer.amount_total is not None and all(
        _unit(u.amount_unit, answer.usage_unit) == unit for u in data
    ):
        amount = sum((u.amount for u in data), Decimal(0))
        if abs(answer.amount_total - amount) > CENT * terms:
            refuse("amount_total", f"{answer.amount_total} in all, but the buckets hold {amount}")
    if answer.amount_totals is not None and all(u.amounts is not None for u in data):
        buckets: dict[str, Decimal] = defaultdict(Decimal)
        for usage in data:
            for name, value in _per_unit(usage.amounts or ()).items():
                buckets[name] += value
        totals = _per_unit(answer.amount_totals)
        for name in sorted(set(totals) | set(buckets)):
            given, held = totals.get(name, Decimal(0)), buckets.get(name, Decimal(0))
            if abs(given - held) > CENT * terms:
                refuse("amount_totals", f"{given} {name} in all, but the buckets hold {held}")
