"""``people:`` and ``notify: person``: loaded and checked like every other key, described by the
schema, and the users no entry maps listed by ``validate --strict``."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from budgetbot.cli import main
from budgetbot.rules import PolicyLoadError, load_policies
from budgetbot.rules.models import policy_json_schema
from budgetbot.rules.people import People, Person, unmapped_users
from budgetbot.store import Store

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
PERSONAL = """
people:
  Ada Lovelace: ada@example.org
  u-grace: U024BE7LH
policies:
  - name: per-user
    scope: user
    each: true
    match: ["Ada Lovelace", "Grace Hopper", "Alan*"]
    budget: {usd: 100}
    notify: person
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    return [str(e) for e in raised.value.errors]


def test_people_load_merged_across_files_by_id_or_name(tmp_path: Path) -> None:
    write(tmp_path / "p", "a.yaml", PERSONAL)
    write(tmp_path / "p", "b.yaml", "people:\n  Ben Okafor: ben@example.org\n")
    rules = load_policies(tmp_path / "p")
    assert rules.policies[0].notify == "person"
    assert rules.people.slack_user("u-ada", "Ada Lovelace") == "ada@example.org"
    assert rules.people.slack_user("u-grace", "Grace Renamed") == "U024BE7LH"  # by id
    assert rules.people.slack_user("c9", "Ben Okafor") == "ben@example.org"
    assert rules.people.slack_user("x", "Nobody") is None
    # Without people: or notify:, nothing changes.
    write(tmp_path / "q", "c.yaml", "policies: []\n")
    plain = load_policies(tmp_path / "q")
    assert len(plain.people) == 0


def test_people_errors_name_file_line_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write(
        folder,
        "a.yaml",
        """
        people:
          Ada Lovelace: ada@example.org
          Bad Value: "<@U123|ada>"
          Not Text: 42
        policies:
          - name: per-project
            scope: project
            budget: {usd: 100}
            notify: person
          - name: summed
            scope: user
            budget: {usd: 100}
            notify: someone
        """,
    )
    write(folder, "b.yaml", "people:\n  Ada Lovelace: U0ADA\n")
    write(folder, "c.yaml", "people: [ada@example.org]\n")
    errors = errors_of(folder)
    assert any(
        e.startswith(f"{folder}/a.yaml:3:14: people.Bad Value:") and "'<@U123|ada>' is not" in e
        for e in errors
    ), errors
    assert any(e.startswith(f"{folder}/a.yaml:4:13: people.Not Text:") for e in errors), errors
    assert any(
        e.startswith(f"{folder}/a.yaml:9:13: policies[0].notify (per-project):")
        and "needs scope 'user' and each: true" in e
        for e in errors
    ), errors
    assert any(e.startswith(f"{folder}/a.yaml:13:13: policies[1].notify (summed):") for e in errors)
    assert any(
        e.startswith(f"{folder}/b.yaml:2:3: people.Ada Lovelace:")
        and f"already mapped at {folder}/a.yaml:2:3" in e
        for e in errors
    ), errors
    assert any(e.startswith(f"{folder}/c.yaml:1:9: people:") for e in errors), errors


def test_schema_describes_people_and_notify() -> None:
    schema = policy_json_schema()
    people = schema["properties"]["people"]
    assert people["type"] == "object" and "e-mail" in people["additionalProperties"]["description"]
    notify = schema["$defs"]["Policy"]["properties"]["notify"]
    assert notify["enum"] == ["channel", "person"] and notify["default"] == "channel"
    assert "people:" in notify["description"]


def test_validate_strict_lists_unmapped_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "policies", "users.yaml", PERSONAL)
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    plain = runner.invoke(main, ["validate", str(path)], env=env)
    assert plain.exit_code == 0, plain.output
    strict = runner.invoke(main, ["validate", "--strict", str(path)], env=env)
    assert strict.exit_code == 1
    assert "policy per-user: IonQ user 'Grace Hopper' has no entry in people:" in strict.output
    assert "Ada Lovelace" not in strict.output.split("OK")[1]
    assert "the users its match: covers are not known yet" in strict.output  # 'Alan*'

    assert not (tmp_path / "state.db").exists()  # validating created no store

    # With a store that has seen users, a glob's users are listed too.
    store = Store(env["DATABASE_URL"])
    seen = {"u-alan": "Alan Turing", "u-ada": "Ada Lovelace", "u-x": "Xavier"}
    store.remember_group_names("user", seen, NOW)
    store.close()
    strict = runner.invoke(main, ["validate", "--strict", str(path)], env=env)
    assert strict.exit_code == 1
    assert "'Alan Turing'" in strict.output and "'Xavier'" not in strict.output
    assert "'Ada Lovelace' has no entry" not in strict.output
    assert "not known yet" not in strict.output


names = st.text(alphabet="abcdefgh ", min_size=1, max_size=8)


@given(
    known=st.dictionaries(st.text(alphabet="0123456789", min_size=1, max_size=4), names),
    mapped=st.sets(names),
)
def test_unmapped_are_exactly_the_known_users_no_entry_maps(
    known: dict[str, str], mapped: set[str]
) -> None:
    people = People(tuple(Person(n, "U0X1") for n in sorted(mapped)))
    missing = unmapped_users(None, people, known)
    assert set(missing) == {n for n in known.values() if n not in mapped}
    assert len(missing) == len(set(missing))
