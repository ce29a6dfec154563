"""The highest organization totals IonQ has reported per exact span (a part of the store).

Usage only grows: a late bill adds to a day, nothing takes from it. An answer that shows less
for a span than IonQ reported before is a glitch upstream (an empty answer, a partial one), and
turning it into figures would send false "back under" notices and store false settled buckets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .tables import usage_marks

__all__ = ["UsageMark", "UsageMarkQueries"]

Span = tuple[dt.date, dt.date]


@dataclass(frozen=True)
class UsageMark:
    """The highest totals seen for one span, and the UTC day they were last raised."""

    usd: Decimal | None
    jobs: int | None
    seen_on: dt.date


class UsageMarkQueries:
    """Reading and raising usage marks (a part of :class:`~budgetbot.store.db.Store`)."""

    engine: Engine

    def usage_marks(self, source: str, spans: Sequence[Span]) -> dict[Span, UsageMark]:
        """The marks stored for any of ``spans``."""
        if not spans:
            return {}
        t = usage_marks
        wanted = set(spans)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.start, t.c.end, t.c.usd, t.c.jobs, t.c.seen_on).where(
                    t.c.source == source,
                    t.c.start >= min(s for s, _ in spans),
                    t.c.end <= max(e for _, e in spans),
                )
            ).all()
        return {
            (r.start, r.end): UsageMark(
                None if r.usd is None else Decimal(r.usd), r.jobs, r.seen_on
            )
            for r in rows
            if (r.start, r.end) in wanted
        }

    def set_usage_marks(self, source: str, marks: Mapping[Span, UsageMark]) -> None:
        """Replace the marks of these spans (the caller has decided they are the new highs)."""
        if not marks:
            return
        t = usage_marks
        rows = [
            {
                "source": source,
                "start": start,
                "end": end,
                "usd": None if m.usd is None else str(m.usd),
                "jobs": m.jobs,
                "seen_on": m.seen_on,
            }
            for (start, end), m in marks.items()
        ]
        try:
            with self.engine.begin() as conn:
                for row in rows:
                    conn.execute(
                        t.delete().where(
                            t.c.source == source, t.c.start == row["start"], t.c.end == row["end"]
                        )
                    )
                conn.execute(t.insert(), rows)
        except sa.exc.IntegrityError:
            # Another process raised the same marks at the same moment: theirs stand, and the
            # next answer is compared with them.
            pass
