"""``budgetbot queue``: its help, its usage errors, and the command end to end against the
simulator over HTTP (the real queue reader, project keys from ``IONQ_PROJECT_KEYS``)."""

from __future__ import annotations

from click.testing import CliRunner

from budgetbot.cli import main

NOW = "2026-11-20T12:00:00Z"


def test_help_tells_a_newcomer_what_it_shows_and_needs() -> None:
    result = CliRunner().invoke(main, ["queue", "--help"], prog_name="budgetbot")
    assert result.exit_code == 0
    out = " ".join(result.output.split())
    assert "Usage: budgetbot queue [OPTIONS] [project|user]" in out
    for words in (
        "queued or running on IonQ now",
        "committed_at",
        "IONQ_PROJECT_KEYS",
        '"queue not visible", never $0',
        "--json",
        "Example: budgetbot queue project",
    ):
        assert words in out, words


def test_a_bad_grouping_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["queue", "projekt"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert "project, user" in error and "did you mean 'project'" in error
    # job and org are groupings of reports, not of the queue.
    assert CliRunner().invoke(main, ["queue", "org"]).exit_code == 2


def test_bad_options_are_usage_errors() -> None:
    assert CliRunner().invoke(main, ["queue", "--top", "-1"]).exit_code == 2
    result = CliRunner().invoke(main, ["queue", "--now", "yesterday"])
    assert result.exit_code == 2 and "ISO-8601" in result.output
