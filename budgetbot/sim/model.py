"""A deterministic, seeded model of an IonQ organization: projects, users and their jobs.

Nothing here reads a clock or the network. Projects and users are fixed at construction; their ids
are UUID-looking strings derived from the seed. Jobs are generated lazily, one UTC day at a time,
from ``random.Random(f"{seed}:{day.isoformat()}")``, so any day (past or future) can be asked for
in any order and always yields the same jobs: the history is unbounded.

The shape of the spend, per day:

- each project has its own level (the biggest spend ~$2k a weekday, the quiet ones ~$50 and not
  every day), scaled by a weekly rhythm (weekdays busy, weekends at ~40%);
- a slow trend (a ±15% swell over about a year and a half) and day-to-day noise (±30%);
- roughly once or twice a month, one mid-sized or quiet project has a day at 4-8x its level;
- a project-day's spend is split into jobs of a few dollars to a few hundred dollars each.

``usage_body`` answers exactly what IonQ's ``GET /organizations/{id}/usage`` answers for the same
query, including the truncation of every bucket's ``group_usages`` to its top 5 groups, while
``truth`` gives the untruncated per-group figures so tests can check what a client infers.
Money is ``Decimal`` throughout and ``to_json`` writes it as exact JSON number literals.
"""

from __future__ import annotations

import json
import math
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal
from typing import Any, Final, Literal

from budgetbot.sim.queue import (
    BILLING_LAG_DAYS,
    CANCELLABLE,
    LISTED_DAYS,
    QUEUED,
    Timeline,
    draw_timeline,
    load_of,
    status_at,
)

__all__ = [
    "DEFAULT_ORG_ID",
    "DEFAULT_ORG_NAME",
    "DEFAULT_SEED",
    "GROUP_BYS",
    "MODALITIES",
    "TOP_GROUPS",
    "GroupBy",
    "GroupTotals",
    "Job",
    "Modality",
    "Project",
    "SimOrg",
    "User",
    "bucket_bounds",
    "to_json",
]

GroupBy = Literal["project", "user", "job"]
Modality = Literal["daily", "weekly", "monthly"]

GROUP_BYS: Final[tuple[str, ...]] = ("job", "project", "user")
MODALITIES: Final[tuple[str, ...]] = ("daily", "weekly", "monthly")
TOP_GROUPS: Final = 5
"""How many groups IonQ lists per bucket (``group_usages``)."""

DEFAULT_SEED: Final = 7
DEFAULT_ORG_ID: Final = "com.example.quantum-lab"
DEFAULT_ORG_NAME: Final = "Example Quantum Lab"
USD: Final = "USD"

_ZERO: Final = Decimal(0)
_ONE_DAY: Final = timedelta(days=1)
_CENTS: Final = Decimal("0.01")

# --- the organization's make-up -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ProjectSpec:
    name: str
    daily_usd: float  # typical spend on a Monday at trend 1.0
    job_usd: float  # typical cost of one job
    us_per_usd: float  # QPU microseconds bought by a dollar (depends on the backends used)
    active_weekday: float  # probability that the project runs anything on a weekday
    active_weekend: float
    quiet: bool
    job_kinds: tuple[str, ...]


# fmt: off
_PROJECTS: Final[tuple[_ProjectSpec, ...]] = (
    #            name                    $/day  $/job  µs/$   p(wd) p(we) quiet
    _ProjectSpec("Quantum Chem",         2000,  200,   3200,  1.0,  1.0,  False,
                 ("VQE H2O bond scan", "UCCSD LiH", "QPE FeMoco toy", "ADAPT-VQE N2")),
    _ProjectSpec("Lattice QCD",          1500,  250,   2800,  1.0,  1.0,  False,
                 ("Schwinger model trotter", "SU(2) plaquette", "String breaking")),
    _ProjectSpec("Portfolio Opt",        1100,  120,   6500,  1.0,  0.9,  False,
                 ("QAOA p=3 portfolio", "Risk parity QUBO", "Markowitz sweep")),
    _ProjectSpec("Materials Discovery",   850,  150,   4200,  1.0,  0.8,  False,
                 ("Hubbard 2x2", "Battery cathode VQE", "Spin chain dynamics")),
    _ProjectSpec("QML Benchmarks",        650,   80,   9000,  1.0,  0.7,  False,
                 ("QSVM kernel", "QCNN MNIST-4", "Data re-uploading")),
    _ProjectSpec("Error Mitigation R&D",  480,   60,  10500,  1.0,  0.6,  False,
                 ("ZNE calibration", "Debias sweep", "PEC noise model")),
    _ProjectSpec("Logistics Routing",     380,  100,   7000,  0.95, 0.5,  False,
                 ("VRP QAOA", "Depot scheduling", "TSP-8 Grover")),
    _ProjectSpec("Drug Binding",          300,  150,   3800,  0.9,  0.4,  False,
                 ("Ligand pocket VQE", "Protein fold toy")),
    _ProjectSpec("Compiler Research",      95,   30,  11000,  0.7,  0.25, True,
                 ("Native gate bench", "Routing regression")),
    _ProjectSpec("Teaching Lab",           80,   12,  12000,  0.75, 0.15, True,
                 ("Bell pair demo", "Deutsch-Jozsa lab", "Teleportation lab")),
    _ProjectSpec("Sensor Calibration",     70,   20,   9500,  0.6,  0.3,  True,
                 ("Ramsey fringe", "Drift check")),
    _ProjectSpec("Intern Sandbox",         60,    9,  12000,  0.55, 0.1,  True,
                 ("Hello qubit", "GHZ-5 try", "Random circuit")),
)
# fmt: on
#: The make-up of ``extra_projects``: no generated jobs, only those ``submit`` queues.
_LOAD_SPEC: Final = _ProjectSpec("", 0, 50, 5000, 0.0, 0.0, False, ("Load test circuit",))

# (name, {project name: how much of their work goes there})
_USERS: Final[tuple[tuple[str, Mapping[str, float]], ...]] = (
    ("Alice Nakamura", {"Quantum Chem": 5, "Materials Discovery": 1}),
    ("Ben Okafor", {"Quantum Chem": 3, "Drug Binding": 2}),
    ("Chiara Rossi", {"Lattice QCD": 4}),
    ("Dmitri Volkov", {"Lattice QCD": 3, "Error Mitigation R&D": 1}),
    ("Elena García", {"Portfolio Opt": 4, "Logistics Routing": 1}),
    ("Farid Haddad", {"Portfolio Opt": 2, "QML Benchmarks": 2}),
    ("Grace Liu", {"Materials Discovery": 3, "Quantum Chem": 1}),
    ("Hannah Schmidt", {"QML Benchmarks": 3, "Compiler Research": 1}),
    ("Ibrahim Diallo", {"Error Mitigation R&D": 3, "Compiler Research": 2}),
    ("Julia Kowalski", {"Logistics Routing": 3, "Portfolio Opt": 1}),
    ("Kenji Tanaka", {"Drug Binding": 3, "Quantum Chem": 1}),
    ("Lena Johansson", {"Sensor Calibration": 3, "Error Mitigation R&D": 1}),
    ("Marco Bianchi", {"Teaching Lab": 3, "Intern Sandbox": 1}),
    ("Nadia Petrova", {"Lattice QCD": 1, "Materials Discovery": 2, "QML Benchmarks": 1}),
    ("Omar Siddiqui", {"Intern Sandbox": 2, "Teaching Lab": 1}),
    ("Priya Raman", {"Compiler Research": 2, "Sensor Calibration": 1}),
)

_WEEKDAY_FACTOR: Final = (1.0, 1.1, 1.1, 1.05, 0.85, 0.55, 0.5)  # Monday .. Sunday
_TREND_AMPLITUDE: Final = 0.15
_TREND_PERIOD_DAYS: Final = 540.0
_DAILY_NOISE_SIGMA: Final = 0.3
_JOB_SPREAD_SIGMA: Final = 0.5
_SPIKE_PROBABILITY: Final = 0.05  # per day, org-wide: ~1.5 spikes a month
_SPIKE_MIN, _SPIKE_MAX = 4.0, 8.0
_SPIKE_MAX_DAILY_USD: Final = 900.0  # only mid-sized and quiet projects spike
_MIN_JOB_CENTS: Final = 100
_DEFAULT_CACHE_DAYS: Final = 800  # a little over two years of history, ~15 MB


# --- public data -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Project:
    """A project of the organization."""

    id: str
    name: str
    quiet: bool
    """A small project that is usually outside a bucket's top 5 yet spends a little often."""
    typical_daily_usd: Decimal
    """Its spend on a typical Monday (before trend, noise and spikes)."""
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class User:
    """A member of the organization; ``project_ids`` lists where they submit jobs."""

    id: str
    name: str
    email: str
    project_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Job:
    """One QPU job: ``amount`` in USD with exactly two decimals, ``time_us`` in microseconds.

    ``timeline`` says when it starts and completes; it is billed (``amount``, ``time_us``) on the
    UTC day it completes, unless it was cancelled first (``SimOrg.status``).
    """

    id: str
    name: str
    project_id: str
    user_id: str
    submitted_at: datetime
    amount: Decimal
    time_us: Decimal
    timeline: Timeline
    parent_job_id: str | None = None
    """The job this one was cloned from (``SimOrg.clone``); None for every other job."""

    @property
    def started_at(self) -> datetime:
        """When it starts running (if it is not cancelled before)."""
        return self.timeline.started_at

    @property
    def completed_at(self) -> datetime:
        """When it completes and is billed (if it is not cancelled before)."""
        return self.timeline.completed_at


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """The true totals of one group (project, user or job) over a range."""

    name: str
    amount: Decimal
    time_us: Decimal
    job_count: int


# --- the organization ------------------------------------------------------------------------


class SimOrg:
    """A seeded organization; ``SimOrg()`` is the one the demo, the tests and the benchmarks use.

    ``cache_days`` bounds how many generated days are kept in memory (generation is cheap and
    deterministic, so an evicted day is simply generated again). ``extra_projects`` adds that many
    projects ("Load Project 01", …) with no jobs of their own, for load tests that ``submit`` jobs
    into many projects; the generated history is the same with or without them.
    """

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        org_id: str = DEFAULT_ORG_ID,
        *,
        name: str = DEFAULT_ORG_NAME,
        cache_days: int = _DEFAULT_CACHE_DAYS,
        rename: dict[str, str] | None = None,
        extra_projects: int = 0,
    ) -> None:
        self.seed = seed
        self.org_id = org_id
        self.name = name
        ids = random.Random(f"{seed}:ids")
        project_ids = {spec.name: _uuid(ids) for spec in _PROJECTS}
        user_ids = {user_name: _uuid(ids) for user_name, _ in _USERS}
        extra_ids = random.Random(f"{seed}:extra-projects")
        # an extra project's one member: the users in turn
        extras = [
            (f"Load Project {n:02d}", _uuid(extra_ids), _USERS[(n - 1) % len(_USERS)][0])
            for n in range(1, extra_projects + 1)
        ]
        self.projects: tuple[Project, ...] = tuple(
            Project(
                id=project_ids[spec.name],
                name=spec.name,
                quiet=spec.quiet,
                typical_daily_usd=Decimal(str(spec.daily_usd)).quantize(_CENTS),
                user_ids=tuple(
                    user_ids[user_name] for user_name, share in _USERS if spec.name in share
                ),
            )
            for spec in _PROJECTS
        )
        self._generating = self.projects  # the projects whose jobs are generated
        self.projects += tuple(
            Project(
                id=project_id,
                name=project_name,
                quiet=False,
                typical_daily_usd=_ZERO.quantize(_CENTS),
                user_ids=(user_ids[member],),
            )
            for project_name, project_id, member in extras
        )
        self.users: tuple[User, ...] = tuple(
            User(
                id=user_ids[user_name],
                name=user_name,
                email=_email(user_name),
                project_ids=tuple(project_ids[p] for p in share)
                + tuple(project_id for _, project_id, member in extras if member == user_name),
            )
            for user_name, share in _USERS
        )
        self._specs = dict(zip((p.id for p in self._generating), _PROJECTS, strict=True))
        self._specs.update((project_id, _LOAD_SPEC) for _, project_id, _ in extras)
        self._members: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {}
        for project in self._generating:
            shares = [
                (user_ids[user_name], share[project.name])
                for user_name, share in _USERS
                if project.name in share
            ]
            self._members[project.id] = (
                tuple(u for u, _ in shares),
                tuple(w for _, w in shares),
            )
        # ``rename`` changes the names the API answers with (e.g. hostile names in tests).
        renamed = rename or {}
        self._project_names = {p.id: renamed.get(p.name, p.name) for p in self.projects}
        self._user_names = {u.id: u.name for u in self.users}
        self._trend_phase = random.Random(f"{seed}:trend").uniform(0.0, 2 * math.pi)
        self._cache: dict[date, tuple[Job, ...]] = {}
        self._completed_cache: dict[date, tuple[Job, ...]] = {}
        self._cache_days = max(1, cache_days)
        self._lock = threading.Lock()
        # The queue's mutable state: jobs submitted through ``submit``/``clone`` and cancellations.
        self._state = threading.RLock()
        self._cancelled: dict[str, datetime] = {}
        self._extras: dict[str, Job] = {}
        self._extras_submitted: dict[date, list[Job]] = {}
        self._extras_completed: dict[date, list[Job]] = {}
        self._index: dict[str, date] = {}  # generated job id -> its submission day

    def __repr__(self) -> str:
        return f"SimOrg(seed={self.seed!r}, org_id={self.org_id!r})"

    # -- look-ups ---------------------------------------------------------------------------

    @property
    def quiet_projects(self) -> tuple[Project, ...]:
        """The small projects that rarely make a bucket's top 5."""
        return tuple(p for p in self.projects if p.quiet)

    def project(self, key: str) -> Project:
        """The project with this id or name."""
        for project in self.projects:
            if key in (project.id, project.name):
                return project
        raise KeyError(f"no project {key!r}")

    def user(self, key: str) -> User:
        """The user with this id, name or e-mail."""
        for user in self.users:
            if key in (user.id, user.name, user.email):
                return user
        raise KeyError(f"no user {key!r}")

    # -- jobs -------------------------------------------------------------------------------

    def day_jobs(self, day: date) -> tuple[Job, ...]:
        """Every job submitted on this UTC day (``submit`` and ``clone`` too), in submission
        order."""
        generated = self._generated(day)
        with self._state:
            extras = self._extras_submitted.get(day)
            if not extras:
                return generated
            return tuple(sorted((*generated, *extras), key=_submission_order))

    def jobs(self, start: date, end: date, *, until: datetime | None = None) -> list[Job]:
        """Jobs submitted on days ``start`` (inclusive) to ``end`` (exclusive), before ``until``."""
        limit = _as_utc(until)
        out: list[Job] = []
        for day in _days(start, end):
            out.extend(_before(self.day_jobs(day), limit))
        return out

    def billed(self, start: date, end: date, *, until: datetime | None = None) -> list[Job]:
        """Jobs billed on days ``start`` (inclusive) to ``end`` (exclusive): completed on those UTC
        days, before ``until``, and not cancelled. This is what the usage endpoint counts."""
        limit = _as_utc(until)
        out: list[Job] = []
        for day in _days(start, end):
            out.extend(self._billed_on(day, limit))
        return out

    # -- the queue --------------------------------------------------------------------------

    def status(self, job: Job, at: datetime) -> str | None:
        """IonQ's status of ``job`` at ``at`` (``submitted`` … ``completed``, ``canceled``);
        None when it was not submitted yet."""
        with self._state:
            cancelled = self._cancelled.get(job.id)
        return status_at(job.timeline, job.submitted_at, _utc(at), cancelled)

    def cancelled_at(self, job_id: str) -> datetime | None:
        """When the job was cancelled; None if it never was."""
        with self._state:
            return self._cancelled.get(job_id)

    def queued(self, at: datetime, project: str | None = None) -> list[Job]:
        """The jobs submitted before ``at`` and neither completed nor cancelled by then (of one
        project, by id or name, if given), in submission order."""
        at = _utc(at)
        project_id = None if project is None else self.project(project).id
        out: list[Job] = []
        for day in _days(at.date() - timedelta(days=BILLING_LAG_DAYS), at.date() + _ONE_DAY):
            for job in self.day_jobs(day):
                if project_id is not None and job.project_id != project_id:
                    continue
                if self.status(job, at) in QUEUED:
                    out.append(job)
        return out

    def find(self, job_id: str, at: datetime, *, days: int = LISTED_DAYS) -> Job | None:
        """The job with this id if it was submitted by ``at`` and at most ``days`` days
        before it (the window the jobs endpoints look back over)."""
        at = _utc(at)
        with self._state:
            job = self._extras.get(job_id)
        if job is None:
            first = at.date() - timedelta(days=days - 1)
            with self._state:
                day = self._index.get(job_id)
            if day is None:
                for listed in _days(first, at.date() + timedelta(days=1)):
                    self._generated(listed)
                with self._state:
                    day = self._index.get(job_id)
            if day is None or not first <= day <= at.date():
                return None
            job = next((j for j in self._generated(day) if j.id == job_id), None)
        if job is None or job.submitted_at > at:
            return None
        return job

    def cancel(self, job_ids: Iterable[str], at: datetime) -> list[str]:
        """Cancel these jobs at ``at``; answers the ids that are now cancelled.

        As IonQ does, a job that started or completed cannot be cancelled (it is left out of the
        answer), and cancelling a cancelled job again is harmless (it stays in the answer). A
        cancelled job is never billed.
        """
        at = _utc(at)
        done: list[str] = []
        with self._state:
            for job_id in job_ids:
                job = self.find(job_id, at)
                if job is None:
                    continue
                status = self.status(job, at)
                if status in CANCELLABLE:
                    self._cancelled[job_id] = at
                if status in CANCELLABLE or status == "canceled":
                    done.append(job_id)
        return done

    def clone(self, job_id: str, at: datetime, *, name: str | None = None) -> Job:
        """A copy of the job (same project, submitter, amount and QPU time) submitted at ``at``:
        a new job with its own id that waits, runs and is billed like any other.

        Raises ``KeyError`` when no job with this id was submitted before ``at``.
        """
        at = _utc(at)
        original = self.find(job_id, at)
        if original is None:
            raise KeyError(f"no job {job_id!r} before {at.isoformat()}")
        with self._state:
            return self._add(
                name or original.name,
                original.project_id,
                original.user_id,
                original.amount,
                original.time_us,
                at,
                parent_job_id=original.id,
            )

    def submit(
        self,
        project: str,
        user: str | None,
        amounts: Iterable[Decimal | int | str],
        at: datetime,
        *,
        name: str | None = None,
    ) -> list[Job]:
        """Submit one job per amount (USD, at most two decimals) at ``at`` in ``project`` (id or
        name) by ``user`` (id, name or e-mail; None: the project's first member). They wait, run
        and are billed later exactly like the generated jobs. Answers them in submission order.
        """
        at = _utc(at)
        found = self.project(project)
        user_id = found.user_ids[0] if user is None else self.user(user).id
        spec = self._specs[found.id]
        jobs: list[Job] = []
        with self._state:
            for index, value in enumerate(amounts):
                amount = Decimal(value)
                if amount <= 0 or amount != amount.quantize(_CENTS):
                    raise ValueError(f"an amount is positive with at most two decimals: {value!r}")
                amount = amount.quantize(_CENTS)
                time_us = (amount * Decimal(str(spec.us_per_usd))).quantize(Decimal("0.000001"))
                kind = spec.job_kinds[index % len(spec.job_kinds)]
                jobs.append(
                    self._add(name or f"{kind} (queued)", found.id, user_id, amount, time_us, at)
                )
        return jobs

    def truth(
        self,
        group_by: GroupBy,
        start: date,
        end: date,
        *,
        until: datetime | None = None,
    ) -> dict[str, GroupTotals]:
        """The true totals of every group billed in the range (``billed``), keyed by group id."""
        return self._aggregate(_check_group_by(group_by), self.billed(start, end, until=until))

    def total(self, start: date, end: date, *, until: datetime | None = None) -> GroupTotals:
        """The organization's true totals over the range (named after the organization)."""
        return _sum_jobs(self.name, self.billed(start, end, until=until))

    # -- the usage endpoint ---------------------------------------------------------------------

    def usage_body(
        self,
        group_by: GroupBy,
        modality: Modality,
        start: date,
        end: date,
        *,
        until: datetime | None = None,
        new_fields: bool = False,
    ) -> dict[str, Any]:
        """The JSON object IonQ answers to ``GET /organizations/{org_id}/usage``.

        ``usage_data`` holds one entry per bucket of ``[start, end)``, most recent first, each
        with its exact totals and only its top 5 groups. ``new_fields`` adds the fields IonQ
        introduced in September 2026 (``amount_totals``, ``amount_unit``, ``amounts``).
        """
        group_by = _check_group_by(group_by)
        modality = _check_modality(modality)
        limit = _as_utc(until)
        buckets: list[dict[str, Any]] = []
        amount_total, time_total, count_total = _ZERO, _ZERO, 0
        for bucket_start, bucket_end in bucket_bounds(modality, start, end):
            jobs = [
                job
                for day in _days(bucket_start, bucket_end)
                for job in self._billed_on(day, limit)
            ]
            totals = _sum_jobs("", jobs)
            groups = self._aggregate(group_by, jobs)
            top = sorted(groups.items(), key=lambda item: (-item[1].amount, item[0]))[:TOP_GROUPS]
            bucket: dict[str, Any] = {
                "from": bucket_start.isoformat(),
                "amount": totals.amount,
                "time_us": totals.time_us,
                "job_count": totals.job_count,
            }
            if new_fields:
                bucket["amount_unit"] = USD
                bucket["amounts"] = [{"amount": totals.amount, "unit": USD}]
            group_usages: list[dict[str, Any]] = []
            for group_id, group in top:
                entry: dict[str, Any] = {
                    "group_id": group_id,
                    "group_name": group.name,
                    "amount": group.amount,
                    "time_us": group.time_us,
                    "job_count": group.job_count,
                }
                if new_fields:
                    entry["amount_unit"] = USD
                    entry["amounts"] = [{"amount": group.amount, "unit": USD}]
                group_usages.append(entry)
            bucket["group_usages"] = group_usages
            buckets.append(bucket)
            amount_total += totals.amount
            time_total += totals.time_us
            count_total += totals.job_count
        buckets.reverse()  # most recent first
        body: dict[str, Any] = {"amount_total": amount_total}
        if new_fields:
            body["amount_totals"] = [{"amount": amount_total, "unit": USD}]
        body.update(
            {
                "time_us_total": time_total,
                "job_count": count_total,
                "usage_unit": USD,
                "group_type": group_by,
                "modality": modality,
                "organization": self.org_id,
                "usage_from": _rfc3339(start),
                "usage_to": _rfc3339(end),
                "usage_data": buckets,
            }
        )
        return body

    # -- internals --------------------------------------------------------------------------

    def _generated(self, day: date) -> tuple[Job, ...]:
        return self._cached(self._cache, day, self._generate_day)

    def _completed_on(self, day: date) -> tuple[Job, ...]:
        """The generated jobs that complete on ``day``, in completion order (cached)."""
        return self._cached(self._completed_cache, day, self._gather_completed)

    def _gather_completed(self, day: date) -> tuple[Job, ...]:
        return tuple(
            sorted(
                (
                    job
                    for submitted in _days(day - timedelta(days=BILLING_LAG_DAYS), day + _ONE_DAY)
                    for job in self._generated(submitted)
                    if job.completed_at.date() == day
                ),
                key=_completion_order,
            )
        )

    def _cached(
        self,
        cache: dict[date, tuple[Job, ...]],
        day: date,
        make: Callable[[date], tuple[Job, ...]],
    ) -> tuple[Job, ...]:
        """``cache[day]``, made by ``make`` when missing; the oldest day goes when it is full."""
        with self._lock:
            cached = cache.get(day)
        if cached is not None:
            return cached
        jobs = make(day)
        with self._lock:
            while len(cache) >= self._cache_days:
                del cache[next(iter(cache))]
            cache[day] = jobs
        return jobs

    def _billed_on(self, day: date, limit: datetime | None) -> list[Job]:
        jobs: Iterable[Job] = self._completed_on(day)
        with self._state:
            extras = self._extras_completed.get(day)
            if extras:
                jobs = sorted((*jobs, *extras), key=_completion_order)
            cancelled = set(self._cancelled) if self._cancelled else None
        return [
            job
            for job in jobs
            if (limit is None or job.completed_at < limit)
            and (cancelled is None or job.id not in cancelled)
        ]

    def _add(
        self,
        name: str,
        project_id: str,
        user_id: str,
        amount: Decimal,
        time_us: Decimal,
        at: datetime,
        *,
        parent_job_id: str | None = None,
    ) -> Job:
        """A job submitted now (``submit``, ``clone``), from a stream of its own so that the
        generated days never change; the caller holds ``_state``."""
        rng = random.Random(f"{self.seed}:extra:{len(self._extras)}")
        load = load_of(sum((j.amount for j in self._generated(at.date())), _ZERO))
        job = Job(
            id=_uuid(rng),
            name=name,
            project_id=project_id,
            user_id=user_id,
            submitted_at=at,
            amount=amount,
            time_us=time_us,
            timeline=draw_timeline(rng, at, amount, time_us, load),
            parent_job_id=parent_job_id,
        )
        self._extras[job.id] = job
        self._extras_submitted.setdefault(at.date(), []).append(job)
        self._extras_completed.setdefault(job.completed_at.date(), []).append(job)
        return job

    def _aggregate(self, group_by: str, jobs: Iterable[Job]) -> dict[str, GroupTotals]:
        key: Callable[[Job], tuple[str, str]]
        if group_by == "project":
            key = lambda job: (job.project_id, self._project_names[job.project_id])  # noqa: E731
        elif group_by == "user":
            key = lambda job: (job.user_id, self._user_names[job.user_id])  # noqa: E731
        else:
            key = lambda job: (job.id, job.name)  # noqa: E731
        amounts: dict[str, Decimal] = {}
        times: dict[str, Decimal] = {}
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        for job in jobs:
            group_id, group_name = key(job)
            names[group_id] = group_name
            amounts[group_id] = amounts.get(group_id, _ZERO) + job.amount
            times[group_id] = times.get(group_id, _ZERO) + job.time_us
            counts[group_id] = counts.get(group_id, 0) + 1
        return {
            g: GroupTotals(name=names[g], amount=amounts[g], time_us=times[g], job_count=counts[g])
            for g in names
        }

    def _generate_day(self, day: date) -> tuple[Job, ...]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        weekend = day.weekday() >= 5
        rhythm = _WEEKDAY_FACTOR[day.weekday()]
        trend = 1.0 + _TREND_AMPLITUDE * math.sin(
            2 * math.pi * day.toordinal() / _TREND_PERIOD_DAYS + self._trend_phase
        )
        spike_id: str | None = None
        spike_factor = 1.0
        if rng.random() < _SPIKE_PROBABILITY:
            candidates = [
                p.id
                for p in self._generating
                if self._specs[p.id].daily_usd <= _SPIKE_MAX_DAILY_USD
            ]
            spike_id = rng.choice(candidates)
            spike_factor = rng.uniform(_SPIKE_MIN, _SPIKE_MAX)
        day_start = datetime.combine(day, time(), tzinfo=UTC)
        drawn: list[tuple[str, str, str, str, datetime, Decimal, Decimal]] = []
        for project in self._generating:
            spec = self._specs[project.id]
            noise = rng.lognormvariate(0.0, _DAILY_NOISE_SIGMA)
            active = rng.random() < (spec.active_weekend if weekend else spec.active_weekday)
            if project.id == spike_id:
                active = True
            if not active:
                continue
            factor = spike_factor if project.id == spike_id else 1.0
            spend = spec.daily_usd * rhythm * trend * noise * factor
            count = max(1, round(spend / spec.job_usd + rng.uniform(-0.5, 0.5)))
            weights = [rng.lognormvariate(0.0, _JOB_SPREAD_SIGMA) for _ in range(count)]
            scale = spend * 100 / sum(weights)
            members, shares = self._members[project.id]
            for weight in weights:
                cents = max(_MIN_JOB_CENTS, round(weight * scale))
                rate = spec.us_per_usd * rng.uniform(0.8, 1.2)
                # cents / 100 dollars * rate us per dollar, kept to 6 decimals: 10**4 * cents * rate
                time_units = round(cents * rate * 10_000)
                drawn.append(
                    (
                        _uuid(rng),
                        f"{rng.choice(spec.job_kinds)} #{rng.randrange(1, 1000):03d}",
                        project.id,
                        rng.choices(members, weights=shares)[0],
                        day_start + timedelta(seconds=_second_of_day(rng)),
                        Decimal(cents).scaleb(-2),
                        Decimal(time_units).scaleb(-6),
                    )
                )
        drawn.sort(key=lambda job: (job[4], job[0]))
        # The queue draws from a stream of its own, so amounts, names and ids stay what they were.
        queue = random.Random(f"{self.seed}:{day.isoformat()}:queue")
        load = load_of(sum((job[5] for job in drawn), _ZERO))
        jobs = tuple(
            Job(
                id=job_id,
                name=name,
                project_id=project_id,
                user_id=user_id,
                submitted_at=submitted_at,
                amount=amount,
                time_us=time_us,
                timeline=draw_timeline(queue, submitted_at, amount, time_us, load),
            )
            for job_id, name, project_id, user_id, submitted_at, amount, time_us in drawn
        )
        with self._state:
            self._index.update((job.id, day) for job in jobs)
        return jobs


# --- helpers -----------------------------------------------------------------------------------


def bucket_bounds(modality: Modality, start: date, end: date) -> list[tuple[date, date]]:
    """The buckets of ``[start, end)`` as ``(first day, end exclusive)``, oldest first.

    Daily buckets are days, weekly ones ISO weeks (Monday first), monthly ones calendar months;
    the first and last are clipped to the range.
    """
    modality = _check_modality(modality)
    if start >= end:
        raise ValueError(f"start ({start}) must be before end ({end})")
    out: list[tuple[date, date]] = []
    cursor = start
    while cursor < end:
        if modality == "daily":
            following = cursor + timedelta(days=1)
        elif modality == "weekly":
            following = cursor + timedelta(days=7 - cursor.weekday())
        elif cursor.month == 12:
            following = date(cursor.year + 1, 1, 1)
        else:
            following = date(cursor.year, cursor.month + 1, 1)
        following = min(following, end)
        out.append((cursor, following))
        cursor = following
    return out


def to_json(value: object) -> str:
    """Serialize to JSON text, writing ``Decimal`` as an exact number literal.

    Numbers are written the way IonQ's service writes them: shortest form, no trailing zeros
    (``1614.2``, ``0``), never through ``float``, so ``json.loads(text, parse_float=Decimal)``
    gives back the same values.
    """
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


_WIDE: Final = Context(prec=100)


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Decimal):
        out.append(_number(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"JSON has no number for {value!r}")
        out.append(repr(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            if index:
                out.append(", ")
            out.append(_string(key))
            out.append(": ")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"JSON has no number for {value!r}")
    text = format(value.normalize(_WIDE), "f")
    return "0" if text == "-0" else text


def _string(value: str) -> str:
    return json.dumps(value)


def _sum_jobs(name: str, jobs: Iterable[Job]) -> GroupTotals:
    amount, time_us, count = _ZERO, _ZERO, 0
    for job in jobs:
        amount += job.amount
        time_us += job.time_us
        count += 1
    return GroupTotals(name=name, amount=amount, time_us=time_us, job_count=count)


def _check_group_by(group_by: str) -> GroupBy:
    if group_by == "project":
        return "project"
    if group_by == "user":
        return "user"
    if group_by == "job":
        return "job"
    raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}, not {group_by!r}")


def _check_modality(modality: str) -> Modality:
    if modality == "daily":
        return "daily"
    if modality == "weekly":
        return "weekly"
    if modality == "monthly":
        return "monthly"
    raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, not {modality!r}")


def _days(start: date, end: date) -> Iterable[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def _submission_order(job: Job) -> tuple[datetime, str]:
    return job.submitted_at, job.id


def _completion_order(job: Job) -> tuple[datetime, str]:
    return job.completed_at, job.id


def _before(jobs: tuple[Job, ...], limit: datetime | None) -> Iterable[Job]:
    if limit is None:
        return jobs
    return (job for job in jobs if job.submitted_at < limit)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no timezone: pass an aware datetime (UTC)")
    return moment.astimezone(UTC)


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _email(name: str) -> str:
    first, _, last = name.partition(" ")
    plain = last.lower().replace("í", "i").replace("ã", "a")
    return f"{first.lower()}.{plain}@example.org"


def _second_of_day(rng: random.Random) -> int:
    """Most jobs go in during European and American working hours, the rest at any time."""
    if rng.random() < 0.75:
        second = rng.gauss(16 * 3600, 3.5 * 3600)
        if 0 <= second < 86_400:
            return int(second)
    return rng.randrange(86_400)
