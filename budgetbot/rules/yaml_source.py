"""Bounded YAML reading: a safe loader that keeps where every key and value was written.

A policy file is hostile input, so the work it can cause is bounded before anything is expanded:
its nesting (:data:`MAX_DEPTH`), the values it expands to with aliases counted at every use
(:data:`MAX_VALUES`, the "billion laughs") and the length of its numbers
(:data:`MAX_NUMBER_CHARS`). Past a bound the file is refused with one positioned error
(:class:`TooComplex`). Duplicate keys, self-referring aliases and merges, and values PyYAML cannot
construct are recorded on the :class:`Document` instead of raised, so a file's other errors are
still found. Pure: it parses text it is given and reads no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_VALUES",
    "Document",
    "Loc",
    "PositionLoader",
    "TooComplex",
    "Where",
    "parse_yaml",
    "yaml_problem",
]

MAX_DEPTH: Final = 50
"""Deepest nesting of lists and mappings (a policy needs 4); deeper input would exhaust the
parser's recursion."""
MAX_VALUES: Final = 100_000
"""Most values a file may expand to, an alias counting its whole value at every use."""
MAX_NUMBER_CHARS: Final = 40
"""Longest number literal: longer ones are no budget, and converting them costs unbounded time."""

_NUMBER_TAGS: Final = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Where:
    """Where a value (and its key, in a mapping) starts in the file."""

    key: yaml.Mark | None
    """Start of the key (``None`` for list items and the document)."""
    value: yaml.Mark
    """Start of the value."""

    @property
    def at_key(self) -> yaml.Mark:
        return self.key or self.value


@dataclass
class Document:
    """A file's plain data plus where each part of it was written."""

    data: object
    where: dict[Loc, Where] = field(default_factory=dict)
    errors: list[tuple[Loc, yaml.Mark, str]] = field(default_factory=list)
    unreadable: set[Loc] = field(default_factory=set)
    """Values that could not be read (already reported): no further errors about them."""


class TooComplex(yaml.MarkedYAMLError):
    """A file past one of the loader's bounds: refused whole, at the place the bound was hit."""


class PositionLoader(yaml.SafeLoader):
    """A safe loader that keeps the mark of every key and value and refuses duplicate keys.

    Instead of raising at the first duplicate it records each one (at its second occurrence) and
    keeps the first value, so a file's other errors are still found. Nesting and expansion are
    bounded (:data:`MAX_DEPTH`, :data:`MAX_VALUES`): past either it raises :class:`TooComplex`.
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
                raise TooComplex(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=self._here(),
                )
            if self._composed > MAX_VALUES:
                raise TooComplex(
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
            raise TooComplex(
                problem=(
                    f"expands to more than {MAX_VALUES:,} values (aliases repeat what they"
                    " refer to at every use)"
                ),
                problem_mark=mark,
            )

    def load_document(self) -> Document:
        node = self.get_single_node()
        if node is None:
            return Document(data=None)
        document = Document(data=None)
        document.where[()] = Where(key=None, value=node.start_mark)
        document.data = self._convert(node, (), document, frozenset())
        return document

    def _convert(self, node: Node, loc: Loc, doc: Document, seen: frozenset[int]) -> object:
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
                doc.where[(*loc, index)] = Where(key=None, value=item.start_mark)
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
        doc: Document,
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
            doc.where[(*loc, key)] = Where(key=key_node.start_mark, value=value_node.start_mark)
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


def yaml_problem(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's syntax error as one sentence, with the place its context started."""
    problem = error.problem or "invalid YAML"
    if error.context:
        context = error.context
        if error.context_mark is not None and error.context_mark != error.problem_mark:
            mark = error.context_mark
            context = f"{context} at line {mark.line + 1}:{mark.column + 1}"
        return f"YAML syntax error: {problem} ({context})"
    return f"YAML syntax error: {problem}"


def parse_yaml(text: str) -> Document:
    """Read one YAML document with positions; raises :class:`yaml.YAMLError` on bad syntax."""
    loader = PositionLoader(text)
    try:
        return loader.load_document()
    finally:
        loader.dispose()
