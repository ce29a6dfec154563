"""Hostile and careless policy files: every one is a file:line error and exit 1, never a crash or
a hang; the work a file can cause is bounded (aliases, nesting, numbers, time zones)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgetbot.cli import main
from budgetbot.rules import PolicyLoadError, PolicySet, load_policies, yaml_source
from budgetbot.rules import loader as loader_module

DIGEST = 'digests:\n  - name: weekly\n    schedule: "0 9 * * MON"\n    timezone: {tz}\n'
BUDGET = "policies:\n  - name: b\n    scope: user\n    budget:\n      {unit}: {amount}\n"


def _laughs(levels: int) -> str:
    """The "billion laughs": each level repeats the one before nine times (587 bytes at 9)."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
        prev = name
    return text


HOSTILE = {
    "tz-directory": (DIGEST.format(tz="Europe"), 4, "unknown timezone 'Europe'"),
    "tz-300-chars": (DIGEST.format(tz="a" * 300), 4, "unknown timezone"),
    "tz-dotdot": (DIGEST.format(tz="../../../etc/passwd"), 4, "unknown timezone"),
    "tz-absolute": (DIGEST.format(tz="/usr/share/zoneinfo/UTC"), 4, "unknown timezone"),
    "tz-nul": (DIGEST.format(tz='"Europe/\\0Berlin"'), 4, "unknown timezone"),
    "tz-surrogate": (DIGEST.format(tz='"Europe/\\uD800"'), 4, "digests[0].timezone"),
    "self-merge": ("policies:\n  - &a\n    name: x\n    <<: *a\n", 4, "itself"),
    "mutual-merge": (
        "policies:\n  - &b\n    name: x\n    other: &c\n      <<: *b\n",
        5,
        "itself",
    ),
    "nesting-900": ("policies: " + "[" * 900 + "]" * 900 + "\n", 1, "nested"),
    "nesting-900-block": (
        "policies:\n  " + "- " * 900 + "x\n",
        2,
        "nested",
    ),
    "budget-5000-digits": (BUDGET.format(unit="usd", amount="9" * 5000), 5, "too long"),
    "jobs-5000-digits": (BUDGET.format(unit="jobs", amount="9" * 5000), 5, "too long"),
    "budget-huge-hex": (BUDGET.format(unit="jobs", amount="0x" + "f" * 5000), 5, "too long"),
    "budget-1e999999": (BUDGET.format(unit="usd", amount='"1e999999"'), 5, "at most"),
    "budget-1e-999999": (BUDGET.format(unit="usd", amount='"1e-999999"'), 5, "decimal places"),
    "budget-huge-int": (BUDGET.format(unit="jobs", amount="9" * 30), 5, "at most"),
    "budget-inf": (BUDGET.format(unit="qpu_hours", amount=".inf"), 5, "finite"),
    "forecast-huge": (
        "policies:\n  - name: b\n    scope: user\n    budget: {usd: 1}\n"
        '    forecast_at: ["1e999999"]\n',
        5,
        "at most",
    ),
    "anomaly-factor-huge": (
        'anomalies:\n  - name: a\n    scope: user\n    window: 14d\n    factor: "1e999999"\n',
        5,
        "at most",
    ),
    "window-5000-digits": (
        "anomalies:\n  - name: a\n    scope: user\n    window: " + "9" * 5000 + "d\n"
        "    factor: 3\n",
        4,
        "days or weeks",
    ),
    "cron-5000-chars": (
        'digests:\n  - name: weekly\n    schedule: "0 9 * * ' + "9" * 5000 + '"\n',
        3,
        "not a valid cron expression",
    ),
    "bad-date": ("policies:\n  - name: b\n    when: 2026-13-45\n", 3, "cannot be read"),
    "billion-laughs": (_laughs(9), None, "expands to more than"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_validate_refuses_hostile_files_with_file_and_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, line, message = HOSTILE[case]
    monkeypatch.chdir(tmp_path)
    Path("policies").mkdir()
    Path("policies/bad.yaml").write_text(text, encoding="utf-8")

    result = CliRunner().invoke(main, ["validate", "policies"])

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("policies/bad.yaml:")]
    assert errors, result.output
    assert any(message in ln for ln in errors), result.output
    if line is not None:
        assert any(ln.startswith(f"policies/bad.yaml:{line}:") for ln in errors), result.output
    assert all(len(ln) < 400 for ln in errors)  # nothing echoes a huge value back


def test_billion_laughs_is_refused_before_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader stops at its cap: the work done is bounded by it, not by 9**9 values."""
    calls = 0
    convert = yaml_source.PositionLoader._convert

    def counting(self: yaml_source.PositionLoader, *args: object) -> object:
        nonlocal calls
        calls += 1
        if calls > 2 * loader_module.MAX_VALUES:
            raise AssertionError("the loader expanded past its cap")
        return convert(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(yaml_source.PositionLoader, "_convert", counting)
    path = tmp_path / "lol.yaml"
    path.write_text(_laughs(9))
    assert len(path.read_bytes()) < 600

    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)

    [error] = raised.value.errors
    assert error.line >= 1 and "expands to more than" in error.message
    assert calls <= loader_module.MAX_VALUES + 1


def test_alias_use_within_the_cap_still_loads(tmp_path: Path) -> None:
    shared = "\n".join(
        f"  - <<: *base\n    name: p{i}" for i in range(200)
    )  # 200 policies sharing one anchored mapping
    path = tmp_path / "many.yaml"
    path.write_text(
        "x-base: &base {scope: user, budget: {usd: 10}}\n" + "policies:\n" + shared + "\n"
    )
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    # Only the unknown top-level key is wrong: the 200 merges themselves were read.
    assert [e.message for e in raised.value.errors] == [
        "unknown key 'x-base'; expected one of policies, anomalies, digests, people"
    ]


def test_a_file_too_large_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * loader_module.MAX_FILE_BYTES + "\n")
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    [error] = raised.value.errors
    assert "larger than" in error.message


def test_a_long_name_shared_by_aliases_is_not_repeated_in_every_error(tmp_path: Path) -> None:
    # 112 KB, under the size cap: one 100,000-character name, used by 2,000 items through an
    # alias. Each error names its item; echoing the whole name made 800 MB of errors, 3 GB of
    # memory and 13 s before the name was shortened like every other quoted value.
    path = tmp_path / "names.yaml"
    path.write_text("policies:\n  - name: &n " + "x" * 100_000 + "\n" + "  - name: *n\n" * 2000)
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    errors = raised.value.errors
    assert errors and all(e.line >= 1 for e in errors)
    assert max(len(str(e)) for e in errors) < 400


# --- the law: any text gives a clean result -----------------------------------------------------

VALID = """\
policies:
  - &base
    name: chem-monthly
    scope: project
    match: ["Quantum Chem*"]
    period: month
    budget: {usd: 5000}
    alert_at: [50, 80, 100]
    forecast_at: [100]
    channel: "#quantum-spend"
  - <<: *base
    name: org-quarter
    scope: user
    budget:
      qpu_hours: 2.5
anomalies:
  - name: project-spike
    scope: project
    window: 14d
    factor: 3
    min_usd: 50
digests:
  - name: weekly
    schedule: "0 9 * * MON"
    timezone: Europe/Berlin
    top: 10
"""

_TOKENS = [
    "&a ", "*a", "<<: *a", "<<: ", "[", "]", "{", "}", ": ", "- ", "\n", "  ", "!!int ",
    "!Ref ", "'", '"', "#", "9" * 50, "0x" + "f" * 60, "1e999999", "-1", ".inf", ".nan",
    "Europe", "a/../b", "\\0", "~", "null", "2026-13-45", "@daily", "* * * * *", "&b [*a, *a]",
    "?", "|", ">", "%", "---", "...", "\t", "é", "\U0001f600",
]  # fmt: skip
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x1FFFF), max_size=300
)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid file with a few spans replaced by tokens that have broken loaders before."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 20)))
        piece = draw(st.one_of(st.sampled_from(_TOKENS), _text.filter(lambda s: len(s) < 20)))
        text = text[:start] + piece + text[end:]
    return text


def _token_soup() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*_TOKENS, "a", "b", "name", "policies"]), max_size=60).map(
        "".join
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_mutated(), _token_soup(), _text))
def test_law_any_text_loads_or_gives_positioned_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            loaded = load_policies(path)
        except PolicyLoadError as refused:
            assert refused.errors
            for error in refused.errors:
                assert error.file == path.as_posix()
                assert error.line >= 1 and error.column >= 1, error
                assert error.message and len(str(error)) < 1000
        else:
            assert isinstance(loaded, PolicySet)
