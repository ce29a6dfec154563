"""Charts: PNG bytes from plain data (pure), and ``budgetbot report --png`` end to end."""

from __future__ import annotations

import datetime as dt
import struct
import threading
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from matplotlib.text import Text

from budgetbot.cli import main
from budgetbot.render import chart
from budgetbot.render import spend_chart as spend_chart_module
from budgetbot.render.chart import (
    OTHER,
    BudgetLine,
    ChartBar,
    TopBar,
    budget_lines,
    digest_chart,
    report_bars,
    report_chart,
    spend_chart,
)
from budgetbot.reports.build import Cell, Column, Report, Row
from budgetbot.reports.digest import DigestReport, TopEntry
from budgetbot.rules.findings import Burn
from budgetbot.rules.findings import Figure as Fig
from budgetbot.usage.model import Bound

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
TRICKY = "$x$ & <!channel>"


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", png[16:24])
    crc = struct.unpack(">I", png[29:33])[0]
    assert zlib.crc32(png[12:29]) == crc
    return width, height


def small_report(name: str = TRICKY) -> Report:
    d = dt.date
    columns = (
        Column(d(2026, 11, 9), d(2026, 11, 16), False),
        Column(d(2026, 11, 16), d(2026, 11, 21), True),
    )
    rows = (
        Row("p-x", name, (Cell(Decimal(300), None), Cell(None, Decimal(50))), Bound(300, 350)),
        Row(
            "p-y", "_hidden?", (Cell(Decimal(100), None), Cell(Decimal(80), None)), Bound(180, 180)
        ),
    )
    return Report(
        grouping="project",
        modality="weekly",
        start=d(2026, 11, 9),
        end=d(2026, 11, 21),
        now=NOW,
        columns=columns,
        rows=rows,
        other=(Decimal(100), Decimal(40)),
        totals=(Decimal(500), Decimal(120)),
        qpu_hours=(None, None),
        jobs=(None, None),
        grand_total=Decimal(620),
        other_total=Decimal(140),
        qpu_hours_total=None,
        jobs_total=None,
        reported_total=Decimal(620),
    )


def small_digest() -> DigestReport:
    start = dt.date(2026, 11, 9)
    return DigestReport(
        name="weekly",
        period="week",
        start=start,
        end=start + dt.timedelta(days=7),
        spend=Decimal("700"),
        previous_spend=Decimal(600),
        qpu_hours=None,
        previous_qpu_hours=None,
        jobs=None,
        previous_jobs=None,
        top_projects=[
            TopEntry(key="p-x", name=TRICKY, value=Fig(Decimal(400), Decimal(400))),
            TopEntry(key="p-z", name="Quiet", value=Fig(Decimal(10), Decimal(90))),
        ],
        top_users=[],
        top_jobs=[],
        daily=[(start + dt.timedelta(days=i), Decimal(100) if i != 3 else None) for i in range(7)],
        burns=[
            Burn(
                rule="chem-monthly",
                scope="project",
                group_key="p-x",
                group_name=TRICKY,
                period="2026-11",
                period_start=dt.date(2026, 11, 1),
                period_end=dt.date(2026, 12, 1),
                measure="usd",
                budget=Decimal(3000),
                value=Fig(Decimal(1000), Decimal(1000)),
            ),
            Burn(
                rule="jobs-cap",
                scope="organization",
                group_key="*",
                group_name="organization",
                period="2026-11",
                period_start=dt.date(2026, 11, 1),
                period_end=dt.date(2026, 12, 1),
                measure="jobs",
                budget=Decimal(100),
                value=Fig(Decimal(10), Decimal(10)),
            ),
        ],
        top=10,
    )


def test_report_bars_stack_listed_cells_and_leave_the_rest_to_other() -> None:
    bars = report_bars(small_report())
    assert [b.total for b in bars] == [Decimal(500), Decimal(120)]
    assert bars[0].groups == ((TRICKY, Decimal(300)), ("_hidden?", Decimal(100)))
    # Not itemized in the second bucket: not stacked (it is part of "other" there).
    assert bars[1].groups == (("_hidden?", Decimal(80)),) and bars[1].partial


def test_budgets_are_pro_rated_per_day_and_only_usd() -> None:
    [line] = budget_lines(small_digest())
    assert line.per_day == Decimal(100)  # $3,000 over November's 30 days
    assert "chem-monthly" in line.label and "$100.00 a day" in line.label


def test_names_are_drawn_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[str, bool, bool]] = []
    real_savefig = Figure.savefig

    def spy(self: Figure, *args: object, **kwargs: object) -> None:
        for t in self.findobj(Text):
            assert isinstance(t, Text)
            drawn.append((t.get_text(), t.get_parse_math(), t.get_usetex()))
        real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    png = report_chart(small_report())
    png_size(png)
    labels = {text: (math, tex) for text, math, tex in drawn}
    assert labels[TRICKY] == (False, False)  # the legend entry, as typed
    assert "_hidden?" in labels and OTHER in labels
    assert all(not math and not tex for _, math, tex in drawn)


def test_digest_chart_has_top_panel_and_handles_missing_days() -> None:
    width, height = png_size(digest_chart(small_digest()))
    assert width > height > 300


def test_spend_chart_of_nothing_is_still_a_png() -> None:
    png_size(spend_chart([], title="nothing"))
    png_size(
        spend_chart(
            [ChartBar(dt.date(2026, 1, 1), dt.date(2026, 2, 1), (), None)],
            budgets=[BudgetLine("b", Decimal(1))],
            top=[TopBar("t", Decimal(0), Decimal(0))],
        )
    )


def test_charts_draw_side_by_side_in_threads() -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []

    def draw() -> None:
        try:
            results.append(report_chart(small_report()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4
    assert len(set(results)) == 1  # same data, same picture: no state leaked between figures


def test_chart_modules_never_touch_pyplot() -> None:
    for module in (chart, spend_chart_module):
        source = Path(module.__file__ or "").read_text()
        assert "pyplot" not in source.replace("no ``pyplot``", ""), module.__name__


def test_report_png_writes_a_real_png_and_still_prints_the_table(
    ionq_env: object, tmp_path: Path
) -> None:
    target = tmp_path / "spend.png"
    result = CliRunner().invoke(
        main,
        ["report", "project", "weekly", "--now", "2026-11-20T12:00:00Z", "--png", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert "IonQ spend by project, weekly" in result.output
    width, height = png_size(target.read_bytes())
    assert (width, height) == (1000, 560)


def test_report_png_to_an_unwritable_place_is_one_error(ionq_env: object, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "spend.png"
    result = CliRunner().invoke(
        main,
        ["report", "org", "monthly", "--now", "2026-11-20T12:00:00Z", "--png", str(target)],
    )
    assert result.exit_code == 1
    assert "cannot write" in result.output and "Traceback" not in result.output
