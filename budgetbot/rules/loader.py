"""Load policy files: YAML with positions → models, or every error in every file.

Validation runs in layers, the most humane first, and keeps going so one run reports everything:

1. YAML syntax (the file stops here: there is nothing to check further);
2. duplicate keys, refused at their second occurrence (the first value is kept);
3. the file's shape: a mapping of ``policies``, ``anomalies`` and ``digests``, each a list;
4. the pydantic models (closed to unknown keys), whose error locations are mapped back to the
   YAML node they concern: an unknown key points at the key, a bad value at the value;
5. across files: names unique among policies, anomalies and digests together.

A file is hostile input, so the work it can cause is bounded before anything is expanded: its
size (:data:`MAX_FILE_BYTES`) here, its nesting, expansion and number lengths while reading it
(:mod:`budgetbot.rules.yaml_source`). Past a bound the file is refused with one positioned error.
Errors and their wording live in :mod:`budgetbot.rules.policy_errors` and
:mod:`budgetbot.rules.validation_messages`.

Errors read like a compiler's::

    policies/chem.yaml:7:15: policies[0].alert_at (chem-monthly): 120 is over 100
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml
from pydantic import ValidationError

from budgetbot.rules.models import Anomaly, Digest, Policy, PolicyItem
from budgetbot.rules.people import PEOPLE_KEY, People, Person, read_people, unique_people
from budgetbot.rules.policy_errors import (
    FileErrors,
    PolicyError,
    PolicyLoadError,
    field_path,
    format_errors,
)
from budgetbot.rules.validation_messages import did_you_mean, report_validation, show_value
from budgetbot.rules.yaml_source import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_VALUES,
    Document,
    TooComplex,
    parse_yaml,
    yaml_problem,
)

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


@dataclass(frozen=True)
class PolicySet:
    """Everything the policy files define, all files merged, in file order."""

    policies: tuple[Policy, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    digests: tuple[Digest, ...] = ()
    files: tuple[str, ...] = ()
    #: IonQ users → Slack users (``people:``), for policies with ``notify: person``.
    people: People = field(default_factory=People)


# --- the layers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    name: str
    file: str
    order: int
    line: int
    column: int
    field: str


def _load_file(
    path: Path, file_order: int, people: list[Person]
) -> tuple[list[PolicyItem], list[_Named], FileErrors]:
    name = path.as_posix()
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            big = FileErrors(name, Document(data=None))
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
        broken = FileErrors(name, Document(data=None))
        broken.errors.append(PolicyError(name, 0, 0, "", f"is not UTF-8 text: {error.reason}"))
        return [], [], broken
    except OSError as error:
        broken = FileErrors(name, Document(data=None))
        broken.errors.append(PolicyError(name, 0, 0, "", f"cannot be read: {error.strerror}"))
        return [], [], broken

    # Layer 1: YAML syntax. Nothing else can be checked in a file that does not parse.
    try:
        document = parse_yaml(text)
    except TooComplex as error:
        failed = FileErrors(name, Document(data=None))
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        failed.errors.append(PolicyError(name, line, column, "", f"refused: {error.problem}"))
        return [], [], failed
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        failed = FileErrors(name, Document(data=None))
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        failed.errors.append(PolicyError(name, line, column, "", yaml_problem(error)))
        return [], [], failed
    except yaml.YAMLError as error:
        failed = FileErrors(name, Document(data=None))
        failed.errors.append(PolicyError(name, 1, 1, "", f"YAML syntax error: {error}"))
        return [], [], failed

    file = FileErrors(name, document)
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
            f"a policy file must be a mapping with keys {', '.join([*SECTIONS, PEOPLE_KEY])}"
            f" (got {show_value(data)})",
        )
        return [], [], file

    items: list[PolicyItem] = []
    names: list[_Named] = []
    for key, section in data.items():
        if key == PEOPLE_KEY:
            people.extend(read_people(file, section))
            continue
        if key not in SECTIONS:
            file.add(
                (),
                file.where((key,)).at_key,
                f"unknown key {key!r}; {did_you_mean(key, [*SECTIONS, PEOPLE_KEY])}",
            )
            continue
        if section is None:
            continue
        if not isinstance(section, list):
            file.add(
                (key,),
                file.where((key,)).value,
                f"must be a list of items, each starting with '- ' (got {show_value(section)})",
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
                        field_path((key, index, "name")),
                    )
                )
            # Layer 4: the models.
            try:
                item = model.model_validate(raw)
            except ValidationError as error:
                report_validation(file, key, index, model, error)
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
                    f"{show_value(named.name)} is already defined at "
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


def load_policies(path: str | Path, *more: str | Path) -> PolicySet:
    """Load a folder of policy files (every ``*.yaml``/``*.yml`` in it, sorted) or one file;
    given several paths (files or folders), load them all as one set, in the order given.

    Raises :class:`PolicyLoadError` listing every error in every file.
    """
    roots = [Path(p) for p in (path, *more)]
    errors = [
        PolicyError(root.as_posix(), 0, 0, "", "no such file or folder")
        for root in roots
        if not root.exists()
    ]
    # A file named twice (itself and its folder) is read once, so its names are not duplicates.
    files = list(
        dict.fromkeys(file for root in roots if root.exists() for file in _policy_files(root))
    )
    items: list[PolicyItem] = []
    names: list[_Named] = []
    entries: list[Person] = []
    for order, file_path in enumerate(files):
        file_items, file_names, file = _load_file(file_path, order, entries)
        items.extend(file_items)
        names.extend(file_names)
        errors.extend(file.errors)
    errors.extend(_unique_names(names))
    people, twice = unique_people(entries)
    errors.extend(twice)
    if errors:
        raise PolicyLoadError(errors)
    return PolicySet(
        policies=tuple(item for item in items if isinstance(item, Policy)),
        anomalies=tuple(item for item in items if isinstance(item, Anomaly)),
        digests=tuple(item for item in items if isinstance(item, Digest)),
        files=tuple(file_path.as_posix() for file_path in files),
        people=people,
    )
