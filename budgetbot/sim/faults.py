"""Fault injection for the simulator: the queue of faults and how each one changes an answer.

Faults (``fail``, ``malformed``, ``drop_field``, ``extra_fields``, ``empty``, ``corrupt``,
``hang``, ``drip``) queue up in the order they are injected and each is used by one request to the
route it is aimed at (``route=``, one of ``ROUTES``; ``"usage"`` unless told): ``fail`` and
``malformed`` replace the answer whatever the request, ``hang`` delays it, ``drip`` sends its body
one byte at a time, and the body faults change a 2xx answer. ``corrupt`` breaks one of IonQ's own
invariants (``CORRUPTIONS`` names the usage answer's, ``JOB_CORRUPTIONS`` the jobs routes').
"""

from __future__ import annotations

import copy
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from budgetbot.sim.answers import MESSAGES, Answer, error, json_answer
from budgetbot.sim.job_faults import (
    JOB_CORRUPTIONS,
    RAW,
    corrupted_job_answer,
    emptied_job_answer,
)
from budgetbot.sim.model import to_json

__all__ = [
    "CORRUPTIONS",
    "DEFAULT_DRIP_SECONDS",
    "DEFAULT_HANG_SECONDS",
    "DEFAULT_MALFORMED_BODY",
    "JOB_CORRUPTIONS",
    "ROUTES",
    "Fault",
    "FaultInjection",
    "corrupted",
    "fault_error",
    "mutated",
]

DEFAULT_MALFORMED_BODY: Final = '{"amount_total": 12.3, "usage_data": ['
DEFAULT_HANG_SECONDS: Final = 5.0
DEFAULT_DRIP_SECONDS: Final = 1.0

#: Answers that break IonQ's own invariants, as a flaky or compromised upstream might send them.
CORRUPTIONS: Final = (
    "duplicate_bucket",  # two buckets with the same date
    "misdated_bucket",  # a bucket dated after the request's end
    "unaligned_bucket",  # a bucket dated inside another one (a day after its start)
    "group_above_bucket",  # a listed group spent more than its whole bucket
    "empty_bucket",  # a bucket with zero totals that still lists groups
    "negative_amount",
    "negative_jobs",
    "fractional_jobs",
    "null_name",  # a listed group with neither id nor name
    "duplicate_group",  # one group listed twice in a bucket
    "huge_amount",  # 1e30 USD
    "overflow_amount",  # 1e999999: Decimal parses it; arithmetic on it overflows
    "nan_amount",  # NaN, which Python's json accepts
    "total_mismatch",  # amount_total is not the sum of the buckets
)
#: What faults aim at: the usage endpoint, whoami, the jobs listing, one job, a job's cost, both
#: cancel calls, clone (``budgetbot.sim.server`` lists their paths).
ROUTES: Final = ("usage", "whoami", "jobs", "job", "cost", "cancel", "clone")
#: Marks a number the simulator writes verbatim (JSON literals ``to_json`` refuses to write).
_RAW: Final = RAW


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault, used by one usage request."""

    kind: Literal[
        "fail", "malformed", "drop_field", "extra_fields", "empty", "corrupt", "hang", "drip"
    ]
    status: int = 200
    retry_after: str | None = None
    body: str | None = None
    path: tuple[str, ...] = ()
    seconds: float = 0.0
    corruption: str = ""
    route: str = "usage"


class FaultInjection:
    """The fault queue and latency of a simulator; ``SimServer`` mixes it in."""

    _lock: threading.Lock
    _faults: deque[Fault]
    _latency: float

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is answered (default 0)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._latency = float(seconds)

    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        body: str | None = None,
        route: str = "usage",
    ) -> None:
        """Answer the next ``times`` requests to ``route`` with ``status`` and an IonQ-style
        error."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail() takes an error status (400-599), not {status}")
        fault = Fault("fail", status=status, retry_after=retry_after, body=body, route=route)
        self._queue(fault, times)

    def malformed(
        self, times: int = 1, body: str = DEFAULT_MALFORMED_BODY, *, route: str = "usage"
    ) -> None:
        """Answer 200 with ``body``, which is not valid JSON."""
        self._queue(Fault("malformed", body=body, route=route), times)

    def drop_field(self, path: str, times: int = 1, *, route: str = "usage") -> None:
        """Answer without the field at the dotted ``path`` (``"usage_data.0.amount"``,
        ``"jobs.0.status"``, ``"estimated_cost.unit"``)."""
        parts = tuple(path.split("."))
        if not path or any(not part for part in parts):
            raise ValueError(f"not a dotted path: {path!r}")
        self._queue(Fault("drop_field", path=parts, route=route), times)

    def extra_fields(self, times: int = 1, *, route: str = "usage") -> None:
        """Answer with unknown fields added at every level of the body."""
        self._queue(Fault("extra_fields", route=route), times)

    def empty(self, times: int = 1, *, route: str = "usage") -> None:
        """Answer with nothing in it: ``usage_data: []`` and zero totals; ``jobs: []`` and no
        ``next`` for the listing."""
        self._queue(Fault("empty", route=route), times)

    def corrupt(self, corruption: str, times: int = 1, *, route: str = "usage") -> None:
        """Answer with a body that breaks one of IonQ's invariants (``CORRUPTIONS`` for usage,
        ``JOB_CORRUPTIONS[route]`` for the jobs routes)."""
        known = CORRUPTIONS if route == "usage" else JOB_CORRUPTIONS.get(route, ())
        if corruption not in known:
            raise ValueError(
                f"unknown corruption {corruption!r} for route {route!r}; "
                f"one of {', '.join(known) or 'none'}"
            )
        self._queue(Fault("corrupt", corruption=corruption, route=route), times)

    def drip(
        self, times: int = 1, seconds: float = DEFAULT_DRIP_SECONDS, *, route: str = "usage"
    ) -> None:
        """Send the headers at once, then the body one byte every ``seconds`` (a slow loris)."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._queue(Fault("drip", seconds=seconds, route=route), times)

    def hang(
        self, times: int = 1, seconds: float = DEFAULT_HANG_SECONDS, *, route: str = "usage"
    ) -> None:
        """Wait ``seconds`` before answering (for client timeouts); ``stop()`` cuts it short."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._queue(Fault("hang", seconds=seconds, route=route), times)

    @property
    def pending_faults(self) -> int:
        """How many requests (to any route) still have a fault waiting for them."""
        with self._lock:
            return len(self._faults)

    def _queue(self, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        if fault.route not in ROUTES:
            raise ValueError(f"unknown route {fault.route!r}; one of {', '.join(ROUTES)}")
        with self._lock:
            self._faults.extend([fault] * times)

    def _take_fault(self, route: str = "usage") -> Fault | None:
        """The oldest fault aimed at ``route``, taken off the queue."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.route == route:
                    del self._faults[index]
                    return fault
            return None


def mutated(fault: Fault, body: dict[str, Any], route: str = "usage", status: int = 200) -> Answer:
    """A 2xx answer changed by a body fault."""
    if fault.kind == "drop_field":
        changed = copy.deepcopy(body)
        if not _drop(changed, fault.path):
            dotted = ".".join(fault.path)
            return error(500, f"simulator: drop_field path {dotted!r} is not in this answer")
        return json_answer(status, changed)
    if route != "usage":
        if fault.kind == "empty":
            return json_answer(status, emptied_job_answer(body))
        if fault.kind == "extra_fields":
            return json_answer(status, _with_extras_everywhere(body))
        return json_answer(status, body)
    if fault.kind == "empty":
        changed = dict(body, amount_total=0, time_us_total=0, job_count=0, usage_data=[])
        if "amount_totals" in changed:
            changed["amount_totals"] = []
        return json_answer(200, changed)
    if fault.kind == "extra_fields":
        return json_answer(200, _with_extra_fields(body))
    return json_answer(200, body)


def corrupted(
    corruption: str,
    body: dict[str, Any],
    query: dict[str, str],
    status: int = 200,
    route: str = "usage",
) -> Answer:
    """A 2xx answer that breaks one of IonQ's invariants (``CORRUPTIONS``, ``JOB_CORRUPTIONS``)."""
    if route != "usage":
        text = corrupted_job_answer(corruption, copy.deepcopy(body), query)
        if text is None:
            return error(500, f"simulator: corrupt({corruption!r}) needs an answer with a job")
        return Answer(status, _raw_numbers(text), (("Content-Type", "application/json"),))
    changed = copy.deepcopy(body)
    data: list[dict[str, Any]] = changed["usage_data"]
    with_groups = [u for u in data if u["group_usages"]]
    if not with_groups:
        return error(500, "simulator: corrupt() needs an answer with a listed group")
    bucket, group = with_groups[0], with_groups[0]["group_usages"][0]
    if corruption == "duplicate_bucket":
        data.insert(0, copy.deepcopy(bucket))
    elif corruption == "misdated_bucket":
        bucket["from"] = query["end_date"]
    elif corruption == "unaligned_bucket":
        start = date.fromisoformat(bucket["from"])
        if query["modality"] == "daily":
            bucket["from"] = query["end_date"]  # every day starts a daily bucket
        else:
            bucket["from"] = start.replace(day=start.day + 1 if start.day < 28 else 2).isoformat()
    elif corruption == "group_above_bucket":
        group["amount"] = bucket["amount"] + 1
    elif corruption == "empty_bucket":
        bucket.update(amount=0, time_us=0, job_count=0)
    elif corruption == "negative_amount":
        group["amount"] = -group["amount"] - 1
    elif corruption == "negative_jobs":
        bucket["job_count"] = -3
    elif corruption == "fractional_jobs":
        bucket["job_count"] = _RAW + "2.5"
    elif corruption == "null_name":
        group["group_id"] = group["group_name"] = None
    elif corruption == "duplicate_group":
        bucket["group_usages"].append(copy.deepcopy(group))
    elif corruption == "huge_amount":
        bucket["amount"] = _RAW + "1e30"
        changed["amount_total"] = _RAW + "1e30"
    elif corruption == "overflow_amount":
        bucket["amount"] = _RAW + "1e999999"
    elif corruption == "nan_amount":
        bucket["amount"] = _RAW + "NaN"
    else:  # total_mismatch
        changed["amount_total"] = changed["amount_total"] + 1000
    return Answer(200, _raw_numbers(to_json(changed)), (("Content-Type", "application/json"),))


def _raw_numbers(text: str) -> str:
    """Writes the marked numbers (``_RAW``) verbatim."""
    return re.sub(r'"\\u0000raw:([^"]*)"', r"\1", text)


def fault_error(fault: Fault) -> Answer:
    """The error answer of a ``fail`` fault."""
    headers: list[tuple[str, str]] = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", fault.retry_after))
    if fault.body is not None:
        headers.append(("Content-Type", "application/json"))
        return Answer(fault.status, fault.body, tuple(headers))
    answer = error(fault.status, MESSAGES.get(fault.status, "Request failed."))
    return Answer(answer.status, answer.body, answer.headers + tuple(headers))


def _with_extra_fields(body: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["x_sim_request_id"] = "sim-00000000"
    changed["x_sim_meta"] = {"region": "us-east-1", "flags": ["beta", 3, None]}
    for index, bucket in enumerate(changed.get("usage_data", [])):
        bucket["x_sim_bucket"] = index
        bucket["x_sim_to"] = None
        for rank, group in enumerate(bucket.get("group_usages", []), start=1):
            group["x_sim_rank"] = rank
            group["x_sim_tags"] = {"backend": "qpu.forte-1"}
        for amount in bucket.get("amounts", []):
            amount["x_sim_rate"] = 1
    for amount in changed.get("amount_totals", []):
        amount["x_sim_rate"] = 1
    return changed


def _with_extras_everywhere(node: Any) -> Any:
    """Unknown fields added to every object of the answer."""
    if isinstance(node, dict):
        changed = {k: _with_extras_everywhere(v) for k, v in node.items()}
        changed["x_sim_meta"] = {"flags": ["beta", 3, None]}
        return changed
    if isinstance(node, list):
        return [_with_extras_everywhere(v) for v in node]
    return node


def _drop(node: Any, path: tuple[str, ...]) -> bool:
    *parents, last = path
    for part in parents:
        node = _child(node, part)
        if node is None:
            return False
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
        return True
    return False


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None
