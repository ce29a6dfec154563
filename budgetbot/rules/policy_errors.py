"""Policy errors: one problem at file:line:col, and the positioned errors of one file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import yaml

from budgetbot.rules.yaml_source import Document, Loc, Where

__all__ = [
    "MAX_LABEL_CHARS",
    "FileErrors",
    "PolicyError",
    "PolicyLoadError",
    "field_path",
    "format_errors",
]

#: An item's name as errors show it, at most (a valid name has at most 63 characters).
MAX_LABEL_CHARS: Final = 63


@dataclass(frozen=True)
class PolicyError:
    """One problem in a policy file, at a 1-based line and column (0 when it has no position)."""

    file: str
    line: int
    column: int
    field: str
    """Where in the document, e.g. ``policies[0].budget.usd``; empty for the whole file."""
    message: str
    name: str | None = None
    """Name of the item the error is in, when it has one."""

    def __str__(self) -> str:
        where = self.file if self.line <= 0 else f"{self.file}:{self.line}:{self.column}"
        subject = self.field
        if self.name and subject:
            subject = f"{subject} ({self.name})"
        return f"{where}: {subject}: {self.message}" if subject else f"{where}: {self.message}"


def _sort_key(error: PolicyError) -> tuple[str, int, int, str, str]:
    return error.file, error.line, error.column, error.field, error.message


def format_errors(errors: Iterable[PolicyError]) -> str:
    """Every error on its own line, sorted by file and line, then a count of errors and files."""
    ordered = sorted(errors, key=_sort_key)
    files = len({error.file for error in ordered})
    count = (
        f"{len(ordered)} error{'s' if len(ordered) != 1 else ''} "
        f"in {files} file{'s' if files != 1 else ''}"
    )
    return "\n".join([*(str(error) for error in ordered), count])


class PolicyLoadError(Exception):
    """Policy files that do not load; :attr:`errors` lists every problem found."""

    def __init__(self, errors: Sequence[PolicyError]) -> None:
        self.errors: list[PolicyError] = sorted(errors, key=_sort_key)
        super().__init__(format_errors(self.errors))


def field_path(loc: Loc) -> str:
    """``loc`` as errors show it, e.g. ``policies[0].budget.usd``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class FileErrors:
    """Errors of one file, positioned."""

    def __init__(self, file: str, document: Document) -> None:
        self.file = file
        self.document = document
        self.errors: list[PolicyError] = []

    def where(self, loc: Loc) -> Where:
        """The deepest part of the document that ``loc`` reaches."""
        for end in range(len(loc), -1, -1):
            found = self.document.where.get(loc[:end])
            if found is not None:
                return found
        return Where(key=None, value=yaml.Mark(self.file, 0, 0, 0, None, 0))

    def item_name(self, loc: Loc) -> str | None:
        if len(loc) < 2:
            return None
        data = self.document.data
        if not isinstance(data, dict):
            return None
        section = data.get(loc[0])
        if not isinstance(section, list) or not isinstance(loc[1], int):
            return None
        if loc[1] >= len(section):
            return None
        item = section[loc[1]]
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            return None
        # Every error of the item repeats its name: a long one (shared by aliases, thousands of
        # times) is shortened as quoted values are, so the errors stay bounded.
        return name if len(name) <= MAX_LABEL_CHARS else name[:40] + "..."

    def unreadable(self, loc: Loc) -> bool:
        """Whether ``loc`` is in a value already reported as unreadable."""
        return any(loc[: len(bad)] == bad for bad in self.document.unreadable)

    def add(self, loc: Loc, mark: yaml.Mark, message: str, *, named: bool = True) -> None:
        self.errors.append(
            PolicyError(
                file=self.file,
                line=mark.line + 1,
                column=mark.column + 1,
                field=field_path(loc),
                message=message,
                name=self.item_name(loc) if named else None,
            )
        )
