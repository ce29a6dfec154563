"""Logging an operator can read: plain lines on a terminal, one JSON object a line elsewhere.

Structured fields go in ``extra={"fields": {...}}``; the JSON formatter puts them at the top
level, the text formatter appends them as ``key=value``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from typing import Any

__all__ = ["JsonFormatter", "TextFormatter", "configure"]


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_fields(record))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return f"{line} {extra}" if extra else line


def configure(*, json_lines: bool | None = None) -> None:
    """Send logs to stderr; JSON when stderr is not a terminal (unless told otherwise).

    ``BUDGETBOT_LOG_LEVEL`` (e.g. DEBUG) raises or lowers every logger, third-party ones
    included; by default budgetbot logs at INFO and libraries at WARNING. Handlers installed by
    others (a test's capture, a platform agent) are kept.
    """
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_budgetbot", False)]
    handler = ours[0] if ours else logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    if not ours:
        handler._budgetbot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    level = os.environ.get("BUDGETBOT_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
        logging.getLogger("budgetbot").setLevel(level)
    else:
        root.setLevel(logging.WARNING)
        logging.getLogger("budgetbot").setLevel(logging.INFO)
