"""The tables of the state store (SQLAlchemy Core), at schema version :data:`SCHEMA_VERSION`."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "ACTION_TABLES",
    "DEFAULT_DESTINATION",
    "SCHEMA_VERSION",
    "acks",
    "action_audit",
    "action_jobs",
    "action_proposals",
    "fired",
    "group_names",
    "home_viewers",
    "job_estimates",
    "job_ledger",
    "ledger_marks",
    "meta",
    "metadata",
    "outbox",
    "snoozes",
    "status",
    "usage_buckets",
    "usage_marks",
]

#: 2: outbox rows name their destination; the unique key is (destination, dedup_key).
#: 3: job estimates by job id and the names of projects and users (committed spend).
#: 4: the job ledger (every completed job's billed cost) and how far each key was walked.
#: 5: budget actions: proposals, the jobs each acted on, the audit trail.
SCHEMA_VERSION = 5
#: The destination of people-facing notifications: Slack, or the terminal standing in for it.
DEFAULT_DESTINATION = "chat"

metadata = sa.MetaData()

meta = sa.Table(
    "budgetbot_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

fired = sa.Table(
    "fired_levels",
    metadata,
    sa.Column("rule", sa.String(64), primary_key=True),
    sa.Column("group_key", sa.String(256), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("level", sa.String(32), primary_key=True),
    sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
)

#: The outbox: one row per notification and destination (``chat`` is Slack, or the terminal
#: standing in for it). Version 1 had no ``destination`` and a unique ``dedup_key``.
outbox = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(512), nullable=False),
    sa.Column("thread_key", sa.String(512), nullable=False, index=True),
    sa.Column("channel", sa.String(128), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sent_channel", sa.String(128), nullable=True),
    sa.Column("ts", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    # A delivery lease: one process at a time may try to send a row; a crashed one's lease ends.
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "destination",
        sa.String(32),
        nullable=False,
        default=DEFAULT_DESTINATION,
        server_default=DEFAULT_DESTINATION,
    ),
    sa.UniqueConstraint("destination", "dedup_key", name="uq_notifications_destination_key"),
)

usage_buckets = sa.Table(
    "usage_buckets",
    metadata,
    # Which organization (and API) the figures are of: one database may outlive an IONQ_ORG_ID.
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("group_by", sa.String(16), primary_key=True),
    sa.Column("modality", sa.String(16), primary_key=True),
    sa.Column("start", sa.Date, primary_key=True),
    sa.Column("end", sa.Date, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
)

# The highest organization totals IonQ has reported for each exact span [start, end): usage only
# grows (late bills add to it), so an answer showing less for the same span is refused. Additive
# to schema 2: ``create_all`` makes it on the next start, and older versions ignore it.
usage_marks = sa.Table(
    "usage_marks",
    metadata,
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("start", sa.Date, primary_key=True),
    sa.Column("end", sa.Date, primary_key=True),
    sa.Column("usd", sa.String(64), nullable=True),
    sa.Column("jobs", sa.BigInteger, nullable=True),
    #: The UTC day the mark was last raised: a fall that lasts longer is believed (a refund).
    sa.Column("seen_on", sa.Date, nullable=False),
)

status = sa.Table(
    "budgetbot_status",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

#: Snoozes from the alert buttons: a (rule, group) stays quiet until ``until``. Rows are kept
#: (history); the latest-ending one of a (rule, group) is what counts.
snoozes = sa.Table(
    "snoozes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(256), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    #: The period and alert the button was on (for the record).
    sa.Column("period", sa.String(32), nullable=True),
    sa.Column("dedup_key", sa.String(512), nullable=True),
    sa.Index("ix_snoozes_rule_group", "rule", "group_key"),
)

#: Acknowledgements of an alert (by its dedup key): who, when; once per person and alert.
acks = sa.Table(
    "acks",
    metadata,
    sa.Column("dedup_key", sa.String(512), primary_key=True),
    sa.Column("by_user", sa.String(64), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

#: Slack users who opened the App Home: their Home view is refreshed after each cycle.
home_viewers = sa.Table(
    "home_viewers",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
)

#: Each job's estimated cost, asked of IonQ once (``GET /jobs/{id}/cost``): ``value`` in ``unit``
#: as IonQ gave it, and ``usd`` the same in USD where the unit is USD (credits: null). Decimals
#: are kept as text, exactly.
job_estimates = sa.Table(
    "job_estimates",
    metadata,
    sa.Column("job_id", sa.String(256), primary_key=True),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("value", sa.String(64), nullable=False),
    sa.Column("usd", sa.String(64), nullable=True),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)

#: The names IonQ gave projects and users in usage answers (``scope`` is ``project`` or
#: ``user``): a name learned once is kept, so jobs are matched by name after the group has left
#: IonQ's top-5 lists; a newer name replaces an older one.
group_names = sa.Table(
    "group_names",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("group_id", sa.String(256), primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

#: Every completed job a key lists (``GET /jobs?status=completed``), once: its groups, when it
#: completed and the UTC day IonQ bills it on, and its billed ``cost`` (``GET /jobs/{id}/cost``)
#: once IonQ gives it — ``value`` in ``unit``, ``usd`` where the unit is USD; all three null
#: while it is not billed. ``asked_at``: when its cost was last asked. Decimals are kept as text.
job_ledger = sa.Table(
    "job_ledger",
    metadata,
    sa.Column("job_id", sa.String(256), primary_key=True),
    sa.Column("project_id", sa.String(256), nullable=True),
    sa.Column("submitter_id", sa.String(256), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("unit", sa.String(32), nullable=True),
    sa.Column("value", sa.String(64), nullable=True),
    sa.Column("usd", sa.String(64), nullable=True),
    sa.Column("billed_us", sa.String(64), nullable=True),
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
)

#: How far each key's completed listing was walked (by the key's id from ``/whoami``, never its
#: value): every job it lists that was submitted from ``since`` on was seen by the walk that
#: started at ``walked_at``.
ledger_marks = sa.Table(
    "ledger_marks",
    metadata,
    sa.Column("key_id", sa.String(256), primary_key=True),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("walked_at", sa.DateTime(timezone=True), nullable=False),
)
#: Budget actions (``budgetbot.actions``): one row per proposal, once per (policy, group, period,
#: kind, level), its id derived from that key. ``proposal`` is the proposal as proposed (JSON);
#: the other columns are where it stands. ``claimed_by``/``claimed_until`` lease the action to one
#: process while IonQ is called, as the outbox leases a notification.
action_proposals = sa.Table(
    "action_proposals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(256), nullable=False),
    sa.Column("period", sa.String(32), nullable=False),
    sa.Column("proposal", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    #: proposed, approved (recorded; cancelling or to resume), done, failed (retry resumes).
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("approved_by", sa.String(64), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    #: The way back: none, in_progress, done, failed; who asked, when.
    sa.Column("resubmit", sa.String(16), nullable=False, default="none", server_default="none"),
    sa.Column("resubmitted_by", sa.String(64), nullable=True),
    sa.Column("resubmitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_action_proposals_state", "state"),
)

#: The jobs an action found, recorded before IonQ is asked to cancel them (``result`` pending),
#: then what became of each; and, after a resubmit, its clone (``clone_state`` started before
#: ``POST /jobs/{id}/clone`` is sent: a clone never made twice).
action_jobs = sa.Table(
    "action_jobs",
    metadata,
    sa.Column("proposal_id", sa.String(32), primary_key=True),
    sa.Column("job_id", sa.String(256), primary_key=True),
    sa.Column("label", sa.String(512), nullable=False),
    sa.Column("project_id", sa.String(256), nullable=True),
    sa.Column("submitter_id", sa.String(256), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("estimate_usd", sa.String(64), nullable=True),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("clone_state", sa.String(16), nullable=True),
    sa.Column("clone_id", sa.String(256), nullable=True),
    sa.Column("clone_error", sa.Text, nullable=True),
)

#: The audit trail: every proposal, refusal, approval, cancellation (per job) and resubmit.
action_audit = sa.Table(
    "action_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("proposal_id", sa.String(32), nullable=False, index=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("group_name", sa.String(512), nullable=False),
    sa.Column("by_user", sa.String(64), nullable=True),
    sa.Column("job_id", sa.String(256), nullable=True),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

#: The tables of schema version 5.
ACTION_TABLES = (action_proposals, action_jobs, action_audit)
