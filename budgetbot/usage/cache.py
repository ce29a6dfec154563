"""Fewer calls to IonQ: settled buckets kept in the store, open answers kept briefly, and
concurrent identical fetches sharing one call.

- A bucket that ended ``SETTLE_DAYS`` or more before today is *settled*: IonQ can still bill a
  late job for a day or so, after which the figures are final. Settled buckets are stored and
  never fetched again; a query then asks IonQ only for the part after the last stored bucket.
- Complete days younger than that change only through late billing: they are refreshed at most
  every ``recent_ttl`` seconds (an hour).
- The open period (today included) is kept for ``ttl`` seconds, so fifty people typing the same
  slash command within a minute cause one upstream call.
- Usage only grows: an answer that shows less for a span than IonQ reported for that exact span
  before (an empty or partial answer from a glitch) is refused like an inconsistent answer, unless
  the lower figure has gone unconfirmed for ``MARK_TRUST_DAYS`` (then it is believed: a refund).
- While a call for a query is in flight, identical requests wait for it instead of asking again
  (single flight).
- The names IonQ gives projects and users are kept in the store (a name learned once is kept, a
  newer one replaces it), so queued jobs are matched by name after a group left the top 5.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

from budgetbot.ionq import MAX_AMOUNT, MAX_COUNT, GroupBy, IonQInvalidAnswer, UsageQuery
from budgetbot.store.db import GroupScope, Store, UsageMark

from .model import Bucket, Figures, UsageSeries
from .normalize import natural_end, normalize
from .source import UsageClient

__all__ = ["DEFAULT_TTL", "MARK_TRUST_DAYS", "SETTLE_DAYS", "UsageCache", "bucket_spans"]

log = logging.getLogger("budgetbot.usage")

SETTLE_DAYS = 2
DEFAULT_TTL = 60.0
RECENT_TTL = 3600.0
#: A mark (the highest totals seen for a span) not confirmed for this many days no longer
#: refuses a lower answer: a fall that lasts is IonQ's correction, not a glitch.
MARK_TRUST_DAYS = 1
#: IonQ rounds to the cent: a fall within it is no fall.
_CENT = Decimal("0.01")
_NO_USAGE = Figures(Decimal(0), Decimal(0), 0)


def bucket_spans(query: UsageQuery) -> list[tuple[dt.date, dt.date]]:
    """The buckets IonQ answers ``query`` with, as ``[start, end)`` spans, oldest first."""
    spans = []
    start = query.start
    while start < query.end:
        end = min(natural_end(start, query.modality), query.end)
        spans.append((start, end))
        start = end
    return spans


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "usd": None if f.usd is None else str(f.usd),
        "time_us": None if f.time_us is None else str(f.time_us),
        "jobs": f.jobs,
    }


class _Unusable(ValueError):
    """A stored bucket that does not hold sane figures."""


def _sane(text: str | None, limit: Decimal) -> Decimal | None:
    if text is None:
        return None
    value = Decimal(text)
    # Buckets stored before IonQ's answers were checked may hold 1e999999 or a negative amount:
    # such a row is fetched again rather than believed (or crash every later check).
    if not value.is_finite() or not 0 <= value < limit:
        raise _Unusable(text)
    return value


def _unfigures(doc: dict[str, Any]) -> Figures:
    jobs = doc["jobs"]
    if jobs is not None and (type(jobs) is not int or not 0 <= jobs < MAX_COUNT):
        raise _Unusable(str(jobs))
    return Figures(
        usd=_sane(doc["usd"], MAX_AMOUNT),
        time_us=_sane(doc["time_us"], Decimal(MAX_COUNT)),
        jobs=jobs,
    )


def _dump(bucket: Bucket, names: dict[str, str]) -> str:
    return json.dumps(
        {
            "totals": _figures(bucket.totals),
            "listed": {k: _figures(v) for k, v in bucket.listed.items()},
            "ranked_by_usd": bucket.ranked_by_usd,
            "names": {k: names.get(k, k) for k in bucket.listed},
        }
    )


def _load(start: dt.date, end: dt.date, text: str) -> tuple[Bucket, dict[str, str]] | None:
    """A stored bucket, or None when the row is unusable (then it is fetched again)."""
    try:
        return _parse(start, end, text)
    except (_Unusable, ArithmeticError, ValueError, KeyError, TypeError, AttributeError):
        log.warning(
            "ignoring an unusable stored usage bucket %s..%s; fetching it again", start, end
        )
        return None


def _parse(start: dt.date, end: dt.date, text: str) -> tuple[Bucket, dict[str, str]]:
    doc = json.loads(text)
    bucket = Bucket(
        start=start,
        end=end,
        totals=_unfigures(doc["totals"]),
        listed={k: _unfigures(v) for k, v in doc["listed"].items()},
        ranked_by_usd=doc["ranked_by_usd"],
    )
    return bucket, dict(doc["names"])


def _empty(start: dt.date, end: dt.date) -> Bucket:
    # A settled span IonQ answered without a bucket had no usage at all.
    return Bucket(start, end, Figures(Decimal(0), Decimal(0), 0), {})


def _fell(now: Figures, mark: UsageMark) -> bool:
    usd = now.usd is not None and mark.usd is not None and now.usd < mark.usd - _CENT
    return usd or (now.jobs is not None and mark.jobs is not None and now.jobs < mark.jobs)


def _rose(now: Figures, mark: UsageMark) -> bool:
    usd = now.usd is not None and (mark.usd is None or now.usd > mark.usd)
    return usd or (now.jobs is not None and (mark.jobs is None or now.jobs > mark.jobs))


def _shown(f: Figures | UsageMark) -> str:
    return f"${f.usd}, {f.jobs} jobs"


class UsageCache:
    """Shared by every request of a process (thread-safe); ``store`` None keeps no buckets.

    ``now`` is the wall clock that dates the group names kept (``clock`` times the TTLs).
    """

    def __init__(
        self,
        client: UsageClient,
        store: Store | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        recent_ttl: float = RECENT_TTL,
        settle_days: int = SETTLE_DAYS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.client = client
        self.store = store
        self.ttl = ttl
        self.recent_ttl = recent_ttl
        self.settle_days = settle_days
        self.clock = clock
        self.now = now
        self.upstream_calls = 0
        #: Whose figures these are: stored buckets of another organization are never used.
        self.source = f"{getattr(client, 'base_url', '')}|{getattr(client, 'org_id', '')}"
        self._lock = threading.Lock()
        self._recent: dict[UsageQuery, tuple[float, UsageSeries]] = {}
        self._in_flight: dict[UsageQuery, Future[UsageSeries]] = {}

    # -- single flight and TTL ------------------------------------------------------------------

    def _fetch(self, query: UsageQuery, today: dt.date) -> UsageSeries:
        """One upstream answer for ``query``, shared with identical concurrent callers."""
        with self._lock:
            kept = self._recent.get(query)
            if kept is not None and self.clock() < kept[0]:  # kept[0]: when it expires
                return kept[1]
            flight = self._in_flight.get(query)
            leader = flight is None
            if flight is None:
                flight = Future()
                self._in_flight[query] = flight
        if not leader:
            return flight.result()
        try:
            self.upstream_calls += 1
            series = normalize(self.client.usage(query), query)
            self._check_growth(query, series, today)
        except BaseException as exc:
            flight.set_exception(exc)
            with self._lock:
                del self._in_flight[query]
            raise
        # How long to keep it is decided now, when it was fetched: an answer that still held an
        # open day must not pass for complete days after midnight. (``ttl=0``: keep nothing.)
        ttl = self.recent_ttl if query.end <= today and self.ttl > 0 else self.ttl
        with self._lock:
            self._recent[query] = (self.clock() + ttl, series)
            del self._in_flight[query]
        flight.set_result(series)
        return series

    # -- usage only grows -----------------------------------------------------------------------

    def _check_growth(self, query: UsageQuery, series: UsageSeries, today: dt.date) -> None:
        """Refuse ``series`` if it shows less for a span than IonQ reported before; else raise
        (or confirm) the marks of its spans."""
        if self.store is None:
            return
        answered = {(b.start, b.end): b.totals for b in series.buckets}
        # A span IonQ answered without a bucket had no usage: that, too, must not be a fall.
        totals = {span: answered.get(span, _NO_USAGE) for span in bucket_spans(query)}
        totals.update(answered)
        marks = self.store.usage_marks(self.source, list(totals))
        trusted_since = today - dt.timedelta(days=MARK_TRUST_DAYS)
        changed: dict[tuple[dt.date, dt.date], UsageMark] = {}
        for span, now in totals.items():
            mark = marks.get(span)
            if mark is not None and mark.seen_on >= trusted_since and _fell(now, mark):
                raise IonQInvalidAnswer(
                    f"IonQ's answer shows less usage for {span[0]}..{span[1]} than it reported"
                    f" before ({_shown(now)} < {_shown(mark)}); usage never decreases, so the"
                    " answer is refused",
                    field="usage_data",
                    path=f"/organizations/{getattr(self.client, 'org_id', '')}/usage",
                )
            if mark is None or _fell(now, mark) or _rose(now, mark) or mark.seen_on < today:
                changed[span] = UsageMark(now.usd, now.jobs, today)
        self.store.set_usage_marks(self.source, changed)

    # -- settled buckets -------------------------------------------------------------------------

    def series(self, query: UsageQuery, today: dt.date) -> UsageSeries:
        """``query``'s answer, from stored settled buckets plus at most one upstream call."""
        if self.store is None:
            return self._fetch(query, today)
        settled_before = today - dt.timedelta(days=self.settle_days)
        spans = bucket_spans(query)
        stored = self.store.buckets(self.source, query.group_by.value, query.modality.value, spans)
        buckets: list[Bucket] = []
        names: dict[str, str] = {}
        first_missing = None
        for span in spans:
            text = stored.get(span)
            loaded = None if text is None or span[1] > settled_before else _load(*span, text)
            if loaded is None:
                first_missing = span[0]
                break
            bucket, bucket_names = loaded
            buckets.append(bucket)
            names.update(bucket_names)
        if first_missing is None:
            self._remember_names(query, names)
            return UsageSeries(
                query.group_by.value,
                query.modality.value,
                query.start,
                query.end,
                tuple(buckets),
                names,
            )
        rest = UsageQuery(
            group_by=query.group_by, modality=query.modality, start=first_missing, end=query.end
        )
        fetched = self._fetch(rest, today)
        by_start = {b.start: b for b in fetched.buckets}
        to_store: dict[tuple[dt.date, dt.date], str] = {}
        for span in bucket_spans(rest):
            bucket = by_start.get(span[0]) or _empty(*span)
            if span[1] <= settled_before and span not in stored:
                to_store[span] = _dump(bucket, dict(fetched.names))
        if to_store:
            self.store.put_buckets(
                self.source, query.group_by.value, query.modality.value, to_store
            )
        names.update(fetched.names)
        self._remember_names(query, names)
        return UsageSeries(
            query.group_by.value,
            query.modality.value,
            query.start,
            query.end,
            (*buckets, *fetched.buckets),
            names,
            reported_usd_total=fetched.reported_usd_total if not buckets else None,
        )

    def _remember_names(self, query: UsageQuery, names: dict[str, str]) -> None:
        """Keep the names of projects and users this answer gave (ids IonQ named)."""
        if self.store is None or query.group_by is GroupBy.JOB:
            return
        # A group IonQ gave no name is named by its key: nothing learned.
        named = {key: name for key, name in names.items() if name != key}
        if named:
            scope: GroupScope = "project" if query.group_by is GroupBy.PROJECT else "user"
            self.store.remember_group_names(scope, named, self.now())
