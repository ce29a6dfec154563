"""What the commands share: option types, ``--now`` and ``--policies``, loading policies, and
turning expected failures into one-line errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from budgetbot.ionq import IonQError
from budgetbot.reports.grammar import GrammarError, did_you_mean
from budgetbot.rules import PolicyLoadError, PolicySet, format_errors, load_policies
from budgetbot.settings import MissingSetting
from budgetbot.store import SchemaTooNew
from budgetbot.usage import UsageDataError

__all__ = [
    "NOW",
    "NowType",
    "SuggestingChoice",
    "friendly_errors",
    "now_option",
    "policies_option",
]

T = TypeVar("T")


class SuggestingChoice(click.Choice[str]):
    """A choice whose error names the valid words and the likely intended one."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() in self.choices:
            return value.lower()
        hint = did_you_mean(str(value), [str(c) for c in self.choices])
        valid = ", ".join(str(c) for c in self.choices)
        extra = f"; did you mean {hint!r}?" if hint else ""
        self.fail(f"{value!r} is not one of {valid}{extra}", param, ctx)


class NowType(click.ParamType[dt.datetime]):
    """An ISO-8601 instant; a time without an offset is taken as UTC."""

    name = "ISO-8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time such as 2026-11-20T12:00:00Z", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


NOW = NowType()


def now_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--now",
        type=NOW,
        default=None,
        help="Pretend the current time is this ISO-8601 instant (default: the clock).",
    )(f)


def _now(value: dt.datetime | None) -> dt.datetime:
    return value if value is not None else dt.datetime.now(dt.UTC)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn expected failures into one-line errors (exit 1) instead of tracebacks."""
    try:
        yield
    except (IonQError, MissingSetting, UsageDataError, SchemaTooNew) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        # The driver's first line says what failed; the rest repeats SQL and links.
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(f"the database (DATABASE_URL) failed: {detail}") from None
    except GrammarError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if exc.suggestion else ""
        raise click.UsageError(exc.message + hint) from None


def policies_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--policies",
        "policies_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Policy file or folder (default: BUDGETBOT_POLICIES, else ./policies).",
    )(f)


def _load(path: Path, *more: Path) -> PolicySet:
    """Load policies (one set from every path) or exit 1 with every error, one per line."""
    try:
        return load_policies(path, *more)
    except PolicyLoadError as exc:
        click.echo(format_errors(exc.errors), err=True)
        raise SystemExit(1) from None
