"""A budget's queue: the jobs of a rule's target in a queue snapshot, as the engine counts them
(pure).

The snapshot is indexed once per evaluation (:class:`QueueIndex`), and only for policies with
``committed_at``. Projects are matched by id (a usage ``group_id`` is the project id jobs carry),
users by submitter id; a job IonQ names no project for counts for its submitter and the
organization. A queue no key sees whole is ``not_visible``: no amount, never zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from budgetbot.queue.model import QueuedJob, QueueSnapshot, queued_amount
from budgetbot.usage.measures import Measure

from .findings import ALL_GROUPS, QueuedLine, QueueStanding
from .targets import UNSEEN, Target, matches

__all__ = ["LARGEST_JOBS", "QueueIndex"]

#: How many of a target's largest queued jobs a standing keeps for the message.
LARGEST_JOBS = 5


@dataclass
class QueueIndex:
    """A snapshot's jobs by project and by submitter, and the standings derived from them."""

    snapshot: QueueSnapshot
    by_project: dict[str | None, list[QueuedJob]] = field(default_factory=dict)
    by_user: dict[str, list[QueuedJob]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    _standings: dict[object, QueueStanding] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: QueueSnapshot, names: Mapping[str, str] | None = None) -> QueueIndex:
        """Index ``snapshot`` (once per evaluation); ``names`` (ids to names) default to the
        snapshot's."""
        by_project: dict[str | None, list[QueuedJob]] = defaultdict(list)
        by_user: dict[str, list[QueuedJob]] = defaultdict(list)
        for job in snapshot.jobs:
            by_project[job.project_id].append(job)
            by_user[job.submitter_id].append(job)
        return cls(snapshot, dict(by_project), dict(by_user), names or snapshot.names)

    def name(self, key: str) -> str:
        """A project's or user's name as usage answers gave it, else its id."""
        return self.names.get(key, key)

    def queued_groups(self, scope: str) -> list[str]:
        """The projects (``project`` scope) or submitters (``user``) with jobs queued now."""
        if scope == "project":
            return [k for k in self.by_project if k is not None]
        if scope == "user":
            return list(self.by_user)
        return []

    def extra_targets(
        self,
        scope: str,
        match: Sequence[str] | None,
        seen: Sequence[Target],
        also: Collection[str] = (),
    ) -> list[Target]:
        """The single groups with queued jobs (and the groups ``also``) that ``seen`` (from
        usage) lacks: a group that queues before its first billed job this period still has a
        budget."""
        have = {t.key for t in seen}
        wanted = dict.fromkeys([*self.queued_groups(scope), *also])
        found = [
            Target(k, self.name(k), (k,))
            for k in wanted
            if k not in have and matches(match, k, self.name(k))
        ]
        return sorted(found, key=lambda t: t.name)

    def standing(
        self, scope: str, match: Sequence[str] | None, target: Target, measure: Measure
    ) -> QueueStanding:
        """The queue of ``target`` of a rule of ``scope`` and ``match``, in ``measure``."""
        # Many rules share a target: its standing is derived once.
        key = (scope, None if match is None else tuple(match), target, measure.key)
        found = self._standings.get(key)
        if found is None:
            groups, seen_whole = self._groups(scope, match, target)
            found = self._standings[key] = self._stand(scope, groups, seen_whole, measure)
        return found

    def has_jobs(self, scope: str, key: str) -> bool:
        """Whether the project (or submitter) ``key`` has jobs queued now."""
        return key in (self.by_user if scope == "user" else self.by_project)

    def _groups(
        self, scope: str, match: Sequence[str] | None, target: Target
    ) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """The projects or users whose jobs count, and the projects whose queues must be seen
        whole for that count to be known. None: every job, every project (the organization,
        or all groups of a scope together, whose spend is the organization's total; a user,
        who may queue in any project)."""
        if scope == "organization" or target.keys is None:
            return None, None
        if target.key != ALL_GROUPS:
            groups = frozenset(target.keys)
        else:
            # Several counted together: the listed ones and every queued group the globs match.
            listed = {k for k in target.keys if k != UNSEEN}
            queued = {k for k in self.queued_groups(scope) if matches(match, k, self.name(k))}
            groups = frozenset(listed | queued)
        if scope != "project":
            return groups, None
        if target.key != ALL_GROUPS:
            return groups, groups
        # Every known project the globs mean must be seen, not only those with jobs now.
        known = {k for k in self.snapshot.known if matches(match, k, self.name(k))}
        return groups, groups | known

    def _stand(
        self,
        scope: str,
        groups: frozenset[str] | None,
        seen_whole: frozenset[str] | None,
        measure: Measure,
    ) -> QueueStanding:
        jobs: Sequence[QueuedJob]
        if groups is None:
            jobs = self.snapshot.jobs
        else:
            pool = self.by_project if scope == "project" else self.by_user
            jobs = [j for k in sorted(groups) for j in pool.get(k, ())]
        if not self.snapshot.covers(seen_whole):
            return QueueStanding("not_visible", None, len(jobs))
        amount = queued_amount(jobs, measure)
        return QueueStanding(
            "counted" if amount is not None else "no_estimate",
            amount,
            len(jobs),
            self._largest(jobs, measure),
        )

    def _largest(self, jobs: Sequence[QueuedJob], measure: Measure) -> tuple[QueuedLine, ...]:
        read = [(measure.read(j.figures), j) for j in jobs]
        # Largest first; jobs without a figure last; ties by label, so messages are stable.
        read.sort(key=lambda r: (r[0] is None, -(r[0] or 0), r[1].label, r[1].id))
        return tuple(
            QueuedLine(j.label, self.name(j.submitter_id), amount, j.status)
            for amount, j in read[:LARGEST_JOBS]
        )
