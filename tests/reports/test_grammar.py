"""The report grammar shared by the slash command and `budgetbot report`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgetbot.reports.grammar import GrammarError, parse_command, parse_range

TODAY = dt.date(2026, 11, 20)  # a Friday
D = dt.date


@pytest.mark.parametrize(
    ("text", "modality", "expected"),
    [
        (None, "weekly", (D(2026, 10, 26), D(2026, 11, 21))),
        (None, "daily", (D(2026, 11, 17), D(2026, 11, 21))),
        (None, "monthly", (D(2026, 8, 1), D(2026, 11, 21))),
        ("7d", "daily", (D(2026, 11, 14), D(2026, 11, 21))),
        ("4w", "weekly", (D(2026, 10, 26), D(2026, 11, 21))),
        ("3m", "monthly", (D(2026, 9, 1), D(2026, 11, 21))),
        ("this-month", "weekly", (D(2026, 11, 1), D(2026, 11, 21))),
        ("last-month", "weekly", (D(2026, 10, 1), D(2026, 11, 1))),
        ("this-week", "daily", (D(2026, 11, 16), D(2026, 11, 21))),
        ("last-week", "daily", (D(2026, 11, 9), D(2026, 11, 16))),
        ("2026-11-01..2026-11-15", "daily", (D(2026, 11, 1), D(2026, 11, 16))),
        ("2026-11-01..2027-01-15", "daily", (D(2026, 11, 1), D(2026, 11, 21))),
    ],
)
def test_ranges(text, modality, expected):
    assert parse_range(text, modality, TODAY) == expected


def test_months_back_across_new_year():
    assert parse_range("3m", "monthly", D(2026, 1, 10)) == (D(2025, 11, 1), D(2026, 1, 11))


@pytest.mark.parametrize(
    "text",
    [
        "0d",
        "2026-11-15..2026-11-01",
        "2026-13-01..2026-13-02",
        "fortnight",
        "2027-01-01..2027-01-02",
        "999m",
    ],
)
def test_bad_ranges(text):
    with pytest.raises(GrammarError):
        parse_range(text, "daily", TODAY)


def test_commands_in_any_order_with_share():
    cmd = parse_command("weekly  share 4w user")
    assert cmd.kind == "report" and cmd.share
    assert cmd.report is not None
    assert (cmd.report.grouping, cmd.report.modality, cmd.report.range_text) == (
        "user",
        "weekly",
        "4w",
    )


def test_defaults_and_other_kinds():
    cmd = parse_command("")
    assert cmd.report is not None and (cmd.report.grouping, cmd.report.modality) == (
        "project",
        "weekly",
    )
    assert parse_command("help").kind == "help"
    assert parse_command("budgets").kind == "budgets"


def test_typo_suggests_the_word():
    with pytest.raises(GrammarError) as info:
        parse_command("projekt weekly")
    assert info.value.suggestion == "project"
    with pytest.raises(GrammarError) as info:
        parse_command("project weekyl")
    assert info.value.suggestion == "weekly"


# -- bounded work on absurd texts ------------------------------------------------------------


@pytest.fixture
def suggestion_searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every word the "did you mean" search is run on (difflib's matcher, counted)."""
    import difflib

    searched: list[str] = []
    real = difflib.get_close_matches

    def counting(word, *args, **kwargs):
        searched.append(word)
        return real(word, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    return searched


@pytest.mark.parametrize(
    "text",
    ["ob " * 3333, "x" * 40_000, "projekt " * 30, "a " * 200, "weekly " * 9 + "projekt"],
)
def test_absurd_texts_are_refused_before_any_suggestion_search(
    text: str, suggestion_searches: list[str]
) -> None:
    with pytest.raises(GrammarError) as info:
        parse_command(text)
    assert info.value.suggestion is None
    assert suggestion_searches == []


def test_the_suggestion_search_is_bounded_in_length(suggestion_searches: list[str]) -> None:
    from budgetbot.reports.grammar import MAX_WORD, did_you_mean

    assert did_you_mean("projekt", ["project"]) == "project"
    assert did_you_mean("p" * (MAX_WORD + 1), ["project"]) is None
    with pytest.raises(GrammarError):
        parse_command("project weekly " + "q" * 150)
    assert all(len(word) <= MAX_WORD for word in suggestion_searches)


def test_a_typo_in_a_text_of_sane_length_still_gets_its_suggestion() -> None:
    with pytest.raises(GrammarError) as info:
        parse_command("user   daily   7d   share   projekt")
    assert info.value.suggestion == "project"


# -- ranges out of bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("2026-01-01..9999-12-31", TODAY),
        ("0001-01-01..0001-01-07", TODAY),
        ("1999-12-25..2000-01-05", TODAY),
        ("4w", D(9999, 12, 31)),
        ("4w", D(1, 1, 2)),
        (None, D(9999, 12, 31)),
        ("this-month", D(1, 1, 1)),
    ],
)
def test_ranges_out_of_bounds_are_grammar_errors(text: str | None, today: dt.date) -> None:
    with pytest.raises(GrammarError) as info:
        parse_range(text, "weekly", today)
    assert "2000-01-01" in info.value.message


@settings(max_examples=300, deadline=None)
@given(
    first=st.dates(),
    last=st.dates(),
    today=st.dates(),
    relative=st.sampled_from([None, "7d", "999d", "99w", "999m", "this-month", "last-month"]),
    modality=st.sampled_from(["daily", "weekly", "monthly"]),
)
def test_law_a_range_is_inside_its_bounds_or_a_grammar_error(
    first: dt.date, last: dt.date, today: dt.date, relative: str | None, modality: str
) -> None:
    from budgetbot.reports.grammar import FIRST_DAY, LAST_DAY

    for text in (f"{first}..{last}", relative):
        try:
            start, end = parse_range(text, modality, today)
        except GrammarError:
            continue
        assert FIRST_DAY <= start < end <= min(today, LAST_DAY) + dt.timedelta(days=1)
