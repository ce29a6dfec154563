"""The ``people:`` mapping of a policy file: IonQ users to the Slack users they are (pure).

A user-scope policy with ``notify: person`` sends its alerts to the person spending by direct
message as well as to its channel; ``people:`` says who that person is in Slack::

    people:
      Ada Lovelace: ada@example.com      # an IonQ user's name (or id) → an e-mail address
      0f3c9a1e-user-id: U024BE7LH        # … or a Slack user id

An e-mail address is resolved to a Slack user when the message is delivered
(``users.lookupByEmail``), so a mapping never goes stale when people change teams. Entries of every
file are merged; one IonQ user mapped twice is an error at the second mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import Field

from .policy_errors import FileErrors, PolicyError
from .targets import matches
from .validation_messages import show_value

__all__ = [
    "PEOPLE_KEY",
    "People",
    "Person",
    "SlackUser",
    "is_glob",
    "read_people",
    "unique_people",
    "unmapped_users",
]

#: The top-level key of a policy file that holds the mapping.
PEOPLE_KEY: Final = "people"
_SLACK_USER_ID: Final = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_EMAIL: Final = re.compile(r"^[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+$")
#: Longest IonQ user name or id accepted as a key (IonQ's names are far shorter).
MAX_USER_CHARS: Final = 256
_GLOB: Final = re.compile(r"[*?\[]")

SlackUser = Annotated[
    str,
    Field(
        pattern=r"^([UW][A-Z0-9]{2,20}|[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+)$",
        title="Slack user",
        description="A Slack user id (U…) or the e-mail address of the person's Slack account.",
    ),
]


@dataclass(frozen=True)
class Person:
    """One entry: the IonQ user (name or id), the Slack user, and where it was written."""

    ionq_user: str
    slack_user: str
    file: str = ""
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class People:
    """Every ``people:`` entry, all files merged."""

    entries: tuple[Person, ...] = ()

    def slack_user(self, user_id: str, user_name: str) -> str | None:
        """The Slack user (id or e-mail) of an IonQ user: by id first, then by name."""
        by_key = {p.ionq_user: p.slack_user for p in self.entries}
        return by_key.get(user_id) or by_key.get(user_name)

    def __len__(self) -> int:
        return len(self.entries)


def read_people(file: FileErrors, section: Any) -> list[Person]:
    """The entries of one file's ``people:`` section; every problem goes to ``file``, positioned."""
    if section is None:
        return []
    if not isinstance(section, dict):
        file.add(
            (PEOPLE_KEY,),
            file.where((PEOPLE_KEY,)).value,
            "must be a mapping of IonQ users (name or id) to Slack users (U… id or e-mail),"
            f" e.g. 'Ada Lovelace: ada@example.com' (got {show_value(section)})",
        )
        return []
    people: list[Person] = []
    for key, value in section.items():
        loc = (PEOPLE_KEY, key)
        where = file.where(loc)
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_USER_CHARS:
            file.add(loc, where.at_key, "an IonQ user's name or id must be non-empty text")
            continue
        if not isinstance(value, str) or not (_SLACK_USER_ID.match(value) or _EMAIL.match(value)):
            file.add(
                loc,
                where.value,
                f"{show_value(value)} is not a Slack user id (U…) or an e-mail address",
            )
            continue
        people.append(Person(key, value, file.file, where.at_key.line + 1, where.at_key.column + 1))
    return people


def unique_people(people: Sequence[Person]) -> tuple[People, list[PolicyError]]:
    """The merged mapping, and an error for each IonQ user mapped a second time."""
    first: dict[str, Person] = {}
    errors: list[PolicyError] = []
    for person in people:
        earlier = first.setdefault(person.ionq_user, person)
        if earlier is person:
            continue
        errors.append(
            PolicyError(
                person.file,
                person.line,
                person.column,
                f"{PEOPLE_KEY}.{person.ionq_user}",
                f"{show_value(person.ionq_user)} is already mapped at"
                f" {earlier.file}:{earlier.line}:{earlier.column}",
            )
        )
    return People(tuple(first.values())), errors


def is_glob(entry: str) -> bool:
    """Whether a ``match:`` entry is a pattern rather than one group's name or id."""
    return bool(_GLOB.search(entry))


def unmapped_users(
    match: Sequence[str] | None, people: People, known: Mapping[str, str]
) -> list[str]:
    """The users a ``notify: person`` policy would alert about that ``people:`` does not map.

    ``match`` entries without glob characters name users outright; ``known`` (id → name, the
    users IonQ has answered for so far) adds the users a glob, or no ``match:``, covers.
    """
    names = {name: user_id for user_id, name in known.items()}
    missing: dict[str, None] = {}
    for entry in match or ():
        if is_glob(entry):
            continue
        user_id = names.get(entry, entry)
        if people.slack_user(user_id, known.get(user_id, entry)) is None:
            missing[known.get(user_id, entry)] = None
    for user_id, name in sorted(known.items(), key=lambda item: (item[1], item[0])):
        if matches(match, user_id, name) and people.slack_user(user_id, name) is None:
            missing[name] = None
    return list(missing)
