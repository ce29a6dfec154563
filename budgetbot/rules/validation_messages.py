"""Pydantic's validation errors as humane, positioned policy errors ("did you mean ...?")."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from budgetbot.rules.policy_errors import FileErrors
from budgetbot.rules.yaml_source import Loc

__all__ = ["did_you_mean", "report_validation", "show_value"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """The closest of ``choices`` to a misspelt ``word``, or the list of them all."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of {', '.join(options)}"


def _unwrap(annotation: object) -> list[object]:
    """The types inside ``X | None``, ``list[X]``, ``Annotated[X, ...]``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        found: list[object] = []
        for arg in typing.get_args(annotation):
            found.extend(_unwrap(arg))
        return found
    return [annotation]


def _model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path`` (relative to ``model``)."""
    current = model
    for part in path:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return None
        inner = [
            kind
            for kind in _unwrap(info.annotation)
            if isinstance(kind, type) and issubclass(kind, BaseModel)
        ]
        if not inner:
            return None
        current = inner[0]
    return current


def _literal_choices(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    keys = [part for part in path if isinstance(part, str)]
    if not keys:
        return []
    parent = _model_at(model, keys[:-1])
    info = parent.model_fields.get(keys[-1]) if parent is not None else None
    if info is None:
        return []
    choices: list[str] = []
    for kind in _unwrap(info.annotation):
        if typing.get_origin(kind) is typing.Literal:
            choices.extend(str(arg) for arg in typing.get_args(kind))
    return choices


def show_value(value: object) -> str:
    """A value as an error quotes it: YAML words, and at most 60 characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_MESSAGES: Final[dict[str, str]] = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
}


def _humane(error: ErrorDetails, model: type[BaseModel], rel: Loc) -> str:
    """Pydantic's message about the value at ``rel`` (inside ``model``), for people."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    got = f"(got {show_value(value)})"
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]} {got}"
    if kind == "policy_action":
        return error["msg"]
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']} {got}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']} {got}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']} {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']} {got}"
    if kind == "literal_error":
        choices = _literal_choices(model, rel)
        close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
        if close:
            return f"must be one of {', '.join(choices)} {got}; did you mean {close[0]!r}?"
        return f"must be one of {', '.join(choices) or ctx.get('expected', '?')} {got}"
    if kind == "decimal_max_places":
        return f"must have at most {ctx['decimal_places']} decimal places {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters {got}"
    if kind == "too_short":
        return "must not be an empty list"
    if kind == "string_pattern_mismatch":
        if rel and rel[-1] == "name":
            return f"must use only lowercase letters, digits and '-' {got}"
        return f"must match the pattern {ctx.get('pattern')} {got}"
    message = error["msg"]
    return f"{message[:1].lower()}{message[1:]} {got}"


def report_validation(
    file: FileErrors, section: str, index: int, model: type[BaseModel], error: ValidationError
) -> None:
    """Add the problems ``error`` found in item ``index`` (a ``model``) of ``section``."""
    for detail in error.errors(include_url=False):
        rel: Loc = tuple(detail["loc"])
        loc: Loc = (section, index, *rel)
        kind = detail["type"]
        if file.unreadable(loc):
            continue
        if kind == "extra_forbidden" and rel:
            key = str(rel[-1])
            allowed = _model_at(model, rel[:-1])
            choices = list(allowed.model_fields) if allowed is not None else []
            file.add(
                loc[:-1],
                file.where(loc).at_key,
                f"unknown key {key!r}; {did_you_mean(key, choices)}",
            )
        elif kind == "missing" and rel:
            file.add(loc[:-1], file.where(loc[:-1]).value, f"missing required key {rel[-1]!r}")
        else:
            file.add(loc, file.where(loc).value, _humane(detail, model, rel))
