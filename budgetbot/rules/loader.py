"""Load policy files: YAML with positions → models, or every error in every file.

Validation runs in layers, the most humane first, and keeps going so one run reports everything:

1. YAML syntax (the file stops here: there is nothing to check further);
2. duplicate keys, refused at their second occurrence (the first value is kept);
3. the file's shape: a mapping of ``policies``, ``anomalies`` and ``digests``, each a list;
4. the pydantic models (closed to unknown keys), whose error locations are mapped back to the
   YAML node they concern: an unknown key points at the key, a bad value at the value;
5. across files: names unique among policies, anomalies and digests together.

A file is hostile input, so the work it can cause is bounded before anything is expanded: its
size (:data:`MAX_FILE_BYTES`), its nesting (:data:`MAX_DEPTH`), the values it expands to with
aliases counted at every use (:data:`MAX_VALUES`, the "billion laughs") and the length of its
numbers (:data:`MAX_NUMBER_CHARS`). Past a bound the file is refused with one positioned error.

Errors read like a compiler's::

    policies/chem.yaml:7:15: policies[0].alert_at (chem-monthly): 120 is over 100
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from budgetbot.rules.models import Anomaly, Digest, Policy, PolicyItem

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NUMBER_CHARS",
    "MAX_VALUES",
    "PolicyError",
    "PolicyLoadError",
    "PolicySet",
    "format_errors",
    "load_policies",
]

SECTIONS: Final[dict[str, type[PolicyItem]]] = {
    "policies": Policy,
    "anomalies": Anomaly,
    "digests": Digest,
}
"""Top-level keys of a policy file and the model of their items, in reading order."""

YAML_SUFFIXES: Final = (".yaml", ".yml")

MAX_FILE_BYTES: Final = 512 * 1024
"""Largest policy file read (thousands of policies); a larger one is refused unread."""
MAX_DEPTH: Final = 50
"""Deepest nesting of lists and mappings (a policy needs 4); deeper input would exhaust the
parser's recursion."""
MAX_VALUES: Final = 100_000
"""Most values a file may expand to, an alias counting its whole value at every use."""
MAX_NUMBER_CHARS: Final = 40
"""Longest number literal: longer ones are no budget, and converting them costs unbounded time."""

#: An item's name as errors show it, at most (a valid name has at most 63 characters).
MAX_LABEL_CHARS: Final = 63
_NUMBER_TAGS: Final = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})

Loc = tuple[str | int, ...]


# --- public results and errors ------------------------------------------------------------------


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


@dataclass(frozen=True)
class PolicySet:
    """Everything the policy files define, all files merged, in file order."""

    policies: tuple[Policy, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    digests: tuple[Digest, ...] = ()
    files: tuple[str, ...] = ()


# --- YAML with positions ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    key: yaml.Mark | None
    """Start of the key (``None`` for list items and the document)."""
    value: yaml.Mark
    """Start of the value."""

    @property
    def at_key(self) -> yaml.Mark:
        return self.key or self.value


@dataclass
class _Document:
    """A file's plain data plus where each part of it was written."""

    data: object
    where: dict[Loc, _Where] = field(default_factory=dict)
    errors: list[tuple[Loc, yaml.Mark, str]] = field(default_factory=list)
    unreadable: set[Loc] = field(default_factory=set)
    """Values that could not be read (already reported): no further errors about them."""


class _TooComplex(yaml.MarkedYAMLError):
    """A file past one of the loader's bounds: refused whole, at the place the bound was hit."""


class _PositionLoader(yaml.SafeLoader):
    """A safe loader that keeps the mark of every key and value and refuses duplicate keys.

    Instead of raising at the first duplicate it records each one (at its second occurrence) and
    keeps the first value, so a file's other errors are still found. Nesting and expansion are
    bounded (:data:`MAX_DEPTH`, :data:`MAX_VALUES`): past either it raises :class:`_TooComplex`.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0
        self._values = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # PyYAML composes recursively: refuse before the depth can exhaust Python's stack.
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooComplex(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=self._here(),
                )
            if self._composed > MAX_VALUES:
                raise _TooComplex(
                    problem=f"holds more than {MAX_VALUES:,} values",
                    problem_mark=self._here(),
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _here(self) -> yaml.Mark:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: yaml.Mark = event.start_mark
        return mark

    def _spend(self, mark: yaml.Mark) -> None:
        """Count one value read; an alias repeats its whole value, so this bounds expansion."""
        self._values += 1
        if self._values > MAX_VALUES:
            raise _TooComplex(
                problem=(
                    f"expands to more than {MAX_VALUES:,} values (aliases repeat what they"
                    " refer to at every use)"
                ),
                problem_mark=mark,
            )

    def load_document(self) -> _Document:
        node = self.get_single_node()
        if node is None:
            return _Document(data=None)
        document = _Document(data=None)
        document.where[()] = _Where(key=None, value=node.start_mark)
        document.data = self._convert(node, (), document, frozenset())
        return document

    def _convert(self, node: Node, loc: Loc, doc: _Document, seen: frozenset[int]) -> object:
        self._spend(node.start_mark)
        if id(node) in seen:
            doc.errors.append((loc, node.start_mark, "an alias refers to itself"))
            return None
        seen = seen | {id(node)}
        if isinstance(node, MappingNode):
            result: dict[str, object] = {}
            self._fill_mapping(node, loc, doc, seen, result, merged=False)
            return result
        if isinstance(node, SequenceNode):
            items: list[object] = []
            for index, item in enumerate(node.value):
                doc.where[(*loc, index)] = _Where(key=None, value=item.start_mark)
                items.append(self._convert(item, (*loc, index), doc, seen))
            return items
        problem: str | None = None
        if node.tag in _NUMBER_TAGS and len(str(node.value)) > MAX_NUMBER_CHARS:
            problem = (
                f"number too long ({len(str(node.value)):,} characters; at most {MAX_NUMBER_CHARS})"
            )
        else:
            try:
                return self.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as error:
                problem = error.problem or "cannot be read"
                if node.tag.startswith("!"):
                    problem = f"unsupported YAML tag {node.tag!r}"
            except Exception as error:
                # PyYAML's constructors raise whatever their conversion does on odd input
                # (ValueError for the date 2026-13-45, IndexError for an empty !!int): each is a
                # value the file cannot hold, not a crash of the loader.
                problem = f"cannot be read: {str(error)[:120] or type(error).__name__}"
        doc.errors.append((loc, node.start_mark, problem))
        doc.unreadable.add(loc)
        return None

    def _fill_mapping(
        self,
        node: MappingNode,
        loc: Loc,
        doc: _Document,
        seen: frozenset[int],
        result: dict[str, object],
        *,
        merged: bool,
    ) -> None:
        merges: list[tuple[Node, Node]] = []
        first_at: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            self._spend(key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append((key_node, value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                doc.errors.append((loc, key_node.start_mark, "keys must be plain words"))
                continue
            key = str(key_node.value)
            if key in first_at:
                first = first_at[key]
                doc.errors.append(
                    (
                        (*loc, key),
                        key_node.start_mark,
                        f"duplicate key {key!r} (first defined at line {first.line + 1}:"
                        f"{first.column + 1}); remove one of them",
                    )
                )
                continue
            first_at[key] = key_node.start_mark
            if merged and key in result:
                continue  # a key written in the mapping itself wins over a merged one
            doc.where[(*loc, key)] = _Where(key=key_node.start_mark, value=value_node.start_mark)
            result[key] = self._convert(value_node, (*loc, key), doc, seen)
        for merge_key, merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                self._spend(merge_key.start_mark)
                if id(source) in seen:
                    doc.errors.append(
                        (loc, merge_key.start_mark, "'<<' merges a mapping into itself")
                    )
                elif isinstance(source, MappingNode):
                    self._fill_mapping(source, loc, doc, seen | {id(source)}, result, merged=True)
                else:
                    doc.errors.append((loc, source.start_mark, "'<<' must merge a mapping"))


def _yaml_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or "invalid YAML"
    if error.context:
        context = error.context
        if error.context_mark is not None and error.context_mark != error.problem_mark:
            mark = error.context_mark
            context = f"{context} at line {mark.line + 1}:{mark.column + 1}"
        return f"YAML syntax error: {problem} ({context})"
    return f"YAML syntax error: {problem}"


def _parse(text: str) -> _Document:
    loader = _PositionLoader(text)
    try:
        return loader.load_document()
    finally:
        loader.dispose()


# --- turning positions and pydantic errors into PolicyErrors ------------------------------------


def _field(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class _File:
    """Errors of one file, positioned."""

    def __init__(self, file: str, document: _Document) -> None:
        self.file = file
        self.document = document
        self.errors: list[PolicyError] = []

    def where(self, loc: Loc) -> _Where:
        """The deepest part of the document that ``loc`` reaches."""
        for end in range(len(loc), -1, -1):
            found = self.document.where.get(loc[:end])
            if found is not None:
                return found
        return _Where(key=None, value=yaml.Mark(self.file, 0, 0, 0, None, 0))

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
                field=_field(loc),
                message=message,
                name=self.item_name(loc) if named else None,
            )
        )


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
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


def _show(value: object) -> str:
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
    got = f"(got {_show(value)})"
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]} {got}"
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


def _report_validation(file: _File, section: str, index: int, error: ValidationError) -> None:
    model = SECTIONS[section]
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
                f"unknown key {key!r}; {_did_you_mean(key, choices)}",
            )
        elif kind == "missing" and rel:
            file.add(loc[:-1], file.where(loc[:-1]).value, f"missing required key {rel[-1]!r}")
        else:
            file.add(loc, file.where(loc).value, _humane(detail, model, rel))


# --- the layers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    name: str
    file: str
    order: int
    line: int
    column: int
    field: str


def _load_file(path: Path, file_order: int) -> tuple[list[PolicyItem], list[_Named], _File]:
    name = path.as_posix()
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            big = _File(name, _Document(data=None))
            big.errors.append(
                PolicyError(
                    name,
                    0,
                    0,
                    "",
                    f"is larger than {MAX_FILE_BYTES // 1024} KiB; split it into several files",
                )
            )
            return [], [], big
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        broken = _File(name, _Document(data=None))
        broken.errors.append(PolicyError(name, 0, 0, "", f"is not UTF-8 text: {error.reason}"))
        return [], [], broken
    except OSError as error:
        broken = _File(name, _Document(data=None))
        broken.errors.append(PolicyError(name, 0, 0, "", f"cannot be read: {error.strerror}"))
        return [], [], broken

    # Layer 1: YAML syntax. Nothing else can be checked in a file that does not parse.
    try:
        document = _parse(text)
    except _TooComplex as error:
        failed = _File(name, _Document(data=None))
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        failed.errors.append(PolicyError(name, line, column, "", f"refused: {error.problem}"))
        return [], [], failed
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        failed = _File(name, _Document(data=None))
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        failed.errors.append(PolicyError(name, line, column, "", _yaml_problem(error)))
        return [], [], failed
    except yaml.YAMLError as error:
        failed = _File(name, _Document(data=None))
        failed.errors.append(PolicyError(name, 1, 1, "", f"YAML syntax error: {error}"))
        return [], [], failed

    file = _File(name, document)
    # Layer 2: duplicate keys (and other node-level problems) found while reading.
    for loc, mark, message in document.errors:
        file.add(loc, mark, message)

    # Layer 3: the file's shape.
    data = document.data
    if data is None:
        return [], [], file  # an empty file defines nothing, which is fine
    if not isinstance(data, dict):
        file.add(
            (),
            file.where(()).value,
            f"a policy file must be a mapping with keys {', '.join(SECTIONS)} (got {_show(data)})",
        )
        return [], [], file

    items: list[PolicyItem] = []
    names: list[_Named] = []
    for key, section in data.items():
        if key not in SECTIONS:
            file.add(
                (),
                file.where((key,)).at_key,
                f"unknown key {key!r}; {_did_you_mean(key, SECTIONS)}",
            )
            continue
        if section is None:
            continue
        if not isinstance(section, list):
            file.add(
                (key,),
                file.where((key,)).value,
                f"must be a list of items, each starting with '- ' (got {_show(section)})",
            )
            continue
        model = SECTIONS[key]
        for index, raw in enumerate(section):
            where = file.where((key, index))
            if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                name_at = file.where((key, index, "name")).at_key
                names.append(
                    _Named(
                        raw["name"],
                        name,
                        file_order,
                        name_at.line + 1,
                        name_at.column + 1,
                        _field((key, index, "name")),
                    )
                )
            # Layer 4: the models.
            try:
                item = model.model_validate(raw)
            except ValidationError as error:
                _report_validation(file, key, index, error)
                continue
            items.append(item.with_source(f"{name}:{where.value.line + 1}"))
    return items, names, file


def _unique_names(names: list[_Named]) -> list[PolicyError]:
    """Layer 5: a name means one thing across every file."""
    first: dict[str, _Named] = {}
    errors: list[PolicyError] = []
    for named in sorted(names, key=lambda n: (n.order, n.line, n.column)):
        earlier = first.setdefault(named.name, named)
        if earlier is named:
            continue
        errors.append(
            PolicyError(
                file=named.file,
                line=named.line,
                column=named.column,
                field=named.field,
                message=(
                    f"{_show(named.name)} is already defined at "
                    f"{earlier.file}:{earlier.line}:{earlier.column}"
                ),
            )
        )
    return errors


def _policy_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            (
                child
                for child in path.iterdir()
                if child.suffix in YAML_SUFFIXES and child.is_file()
            ),
            key=lambda child: child.name,
        )
    return [path]


def load_policies(path: str | Path) -> PolicySet:
    """Load a folder of policy files (every ``*.yaml``/``*.yml`` in it, sorted) or one file.

    Raises :class:`PolicyLoadError` listing every error in every file.
    """
    root = Path(path)
    if not root.exists():
        raise PolicyLoadError([PolicyError(root.as_posix(), 0, 0, "", "no such file or folder")])
    files = _policy_files(root)
    errors: list[PolicyError] = []
    items: list[PolicyItem] = []
    names: list[_Named] = []
    for order, file_path in enumerate(files):
        file_items, file_names, file = _load_file(file_path, order)
        items.extend(file_items)
        names.extend(file_names)
        errors.extend(file.errors)
    errors.extend(_unique_names(names))
    if errors:
        raise PolicyLoadError(errors)
    return PolicySet(
        policies=tuple(item for item in items if isinstance(item, Policy)),
        anomalies=tuple(item for item in items if isinstance(item, Anomaly)),
        digests=tuple(item for item in items if isinstance(item, Digest)),
        files=tuple(file_path.as_posix() for file_path in files),
    )
