"""The simulator's answers: IonQ-style JSON bodies and errors, and the usage query's checks.

Checks run in IonQ's order (the key, then the query parameters, then the organization); a failed
check raises :class:`Fail` carrying its error answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any, Final

from budgetbot.sim.model import GROUP_BYS, MODALITIES, GroupBy, Modality, to_json

__all__ = ["MESSAGES", "Answer", "Fail", "error", "json_answer", "validate"]

_USAGE_PARAMS: Final = ("start_date", "end_date", "group_by", "modality")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_GROUP_BY: Final[dict[str, GroupBy]] = {"job": "job", "project": "project", "user": "user"}
_MODALITY: Final[dict[str, Modality]] = {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}
#: IonQ's messages for the error statuses it answers.
MESSAGES: Final[dict[int, str]] = {
    401: (
        "Invalid key provided. See https://docs.ionq.com/#authentication for details, "
        "or email support@ionq.co for help."
    ),
    429: "Too many requests. Please slow down and try again later.",
    500: "Internal service outage. Visit https://status.ionq.co/ to track this incident.",
    502: "Bad gateway. Visit https://status.ionq.co/ to track this incident.",
    503: "Service temporarily unavailable. Visit https://status.ionq.co/ for updates.",
    504: "Gateway timeout. Visit https://status.ionq.co/ to track this incident.",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer: status, body and headers."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    #: Seconds between the body's bytes (0: send it at once).
    drip: float = 0.0


class Fail(Exception):
    """An error answer, raised while checking a request."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def json_answer(status: int, body: dict[str, Any]) -> Answer:
    """A JSON answer."""
    return Answer(status, to_json(body), (("Content-Type", "application/json"),))


def error(status: int, message: str, **extra: Any) -> Answer:
    """An IonQ-style error answer (``statusCode``, ``error``, ``message``)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"statusCode": status, "error": phrase, "message": message, **extra}
    return Answer(status, to_json(body), (("Content-Type", "application/json"),))


def _bad_request(key: str, message: str) -> Fail:
    return Fail(error(400, message, validation={"source": "query", "keys": [key]}))


def validate(query: dict[str, str]) -> tuple[date, date, GroupBy, Modality]:
    """The usage query's parameters, or a 400 naming the first bad one (as IonQ's Joi does)."""
    for key in _USAGE_PARAMS:
        if key not in query or query[key] == "":
            raise _bad_request(key, f'"{key}" is required')
    dates: list[date] = []
    for key in ("start_date", "end_date"):
        text = query[key]
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            dates.append(date.fromisoformat(text))
        except ValueError:
            raise _bad_request(key, f'"{key}" must be a valid date (YYYY-MM-DD)') from None
    if query["group_by"] not in GROUP_BYS:
        raise _bad_request("group_by", f'"group_by" must be one of [{", ".join(GROUP_BYS)}]')
    if query["modality"] not in MODALITIES:
        raise _bad_request("modality", f'"modality" must be one of [{", ".join(MODALITIES)}]')
    for key in query:
        if key not in _USAGE_PARAMS:
            raise _bad_request(key, f'"{key}" is not allowed')
    start, end = dates
    if start >= end:
        raise _bad_request("end_date", '"end_date" must be greater than "ref:start_date"')
    return start, end, _GROUP_BY[query["group_by"]], _MODALITY[query["modality"]]
