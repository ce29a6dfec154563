"""The spend chart as PNG bytes (pure: plain data in, bytes out; no I/O, no clock, no globals).

Drawn with matplotlib's object API on the Agg canvas, selected explicitly per figure
(:class:`~matplotlib.figure.Figure` + :class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`):
no ``pyplot``, no current-figure state, no ``matplotlib.use`` — so two threads (two slash commands
at once, a digest beside them) each draw their own figure without touching each other's.

What a chart shows:

- **Bars**: spend per bucket (a UTC day for digests; a day, week or month for reports), stacked by
  the top groups IonQ listed in that bucket, the rest as "other / not itemized". The bar's height
  is always IonQ's exact bucket total, so the chart never shows a bound as a figure: a group
  outside a bucket's top 5 is simply part of the grey segment there. A bucket without a USD
  figure has no bar and says "n/a"; the bucket that contains today is hatched and marked ``*``.
- **Budget lines**: each USD budget *pro-rated to the bar's length* — budget ÷ days in its period
  × days in the bucket — drawn as a dashed level across the bars. A whole monthly budget would
  dwarf daily bars and say nothing; the pro-rated level reads at a glance: a bar above the line is
  spending faster than the budget allows. (A cumulative line would need the period's spend
  before the chart's first day, which a digest does not carry.)
- **Top groups** (optional, digests): a second panel with each group's spend over the period;
  where IonQ's top-5 lists leave a figure bounded, the solid bar is the "at least" part and a
  hatched extension reaches the "at most".

Names come from IonQ and are drawn as plain text: mathtext (``$…$``) and TeX are switched off
on every text of the figure, and control characters are replaced.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from .text import money, safe_terminal

__all__ = [
    "OTHER",
    "TOTAL",
    "BudgetLine",
    "ChartBar",
    "TopBar",
    "spend_chart",
]

#: The segment of a bar that no listed group accounts for.
OTHER = "other / not itemized"
#: The bars' label when no group is itemized (organization totals).
TOTAL = "total (IonQ)"
#: Groups stacked at most; further groups join "other".
MAX_GROUPS = 8
#: Budget lines drawn at most (the legend stays readable).
MAX_BUDGETS = 5
#: Groups in the top panel at most.
MAX_TOP = 10
#: Longest name in a legend or a label, in characters.
MAX_LABEL = 40
#: A budget's legend entry (rule, group and level) may be longer.
MAX_BUDGET_LABEL = 80
DPI = 100
#: Legend characters (font size 8) that fit across the narrow figure.
LEGEND_CHARS = 170
_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_OTHER_COLOR = "#c7c7c7"
_BUDGET_COLORS = ("#d62728", "#9467bd", "#8c564b", "#17becf", "#2ca02c")
_ONE_DAY = 1


@dataclass(frozen=True)
class ChartBar:
    """One bucket, ``start`` to ``end`` (exclusive, UTC days).

    ``groups`` are the listed groups' exact figures, in stacking order (bottom first);
    ``total`` is IonQ's exact bucket total (None: no USD figure). What the groups leave of the
    total is drawn as :data:`OTHER`.
    """

    start: dt.date
    end: dt.date
    groups: tuple[tuple[str, Decimal], ...] = ()
    total: Decimal | None = None
    partial: bool = False
    #: The bar's tick label; None: from its dates.
    label: str | None = None

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, _ONE_DAY)


@dataclass(frozen=True)
class BudgetLine:
    """A budget pro-rated to one day; drawn at ``per_day`` × days of each bar."""

    label: str
    per_day: Decimal


@dataclass(frozen=True)
class TopBar:
    """A group's spend over the whole chart: exact when ``low == high``, else bounded."""

    name: str
    low: Decimal
    high: Decimal


# -- helpers ----------------------------------------------------------------------------------


def _label(name: str, limit: int = MAX_LABEL) -> str:
    """A name from IonQ, printable and short enough for a legend."""
    text = safe_terminal(name).strip() or "(no name)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tick(bar: ChartBar) -> str:
    days = bar.days
    if bar.label is not None:
        text = bar.label
    elif days == 1:
        text = f"{bar.start:%a}\n{bar.start:%b %d}"
    elif days >= 28:
        text = f"{bar.start:%b %Y}"
    else:
        text = f"{bar.start:%b %d}"
    return text + ("*" if bar.partial else "")


def _legend_columns(labels: Sequence[str], room: float) -> int:
    """As many legend columns (up to 3) as the longest label leaves room for."""
    longest = max((len(label) for label in labels), default=1) + 6
    return max(1, min(len(labels), 3, int(room // longest)))


def _thousands(value: float, _pos: object) -> str:
    return f"{value:,.0f}"


def _plain_text(figure: Figure) -> None:
    """Every text of ``figure`` as plain text: no mathtext, no TeX (names come from IonQ)."""
    for artist in figure.findobj(Text):
        if isinstance(artist, Text):
            artist.set_parse_math(False)
            artist.set_usetex(False)


def _order(bars: Sequence[ChartBar]) -> list[str]:
    """Group names in order of first appearance, at most :data:`MAX_GROUPS`."""
    names: dict[str, None] = {}
    for bar in bars:
        for name, _ in bar.groups:
            names.setdefault(name, None)
    return list(names)[:MAX_GROUPS]


def _draw_bars(
    ax: Axes, bars: Sequence[ChartBar], budgets: Sequence[BudgetLine]
) -> tuple[list[Patch | Line2D], list[str]]:
    """Draw the bars and budget levels; returns the legend's handles and labels."""
    shown = _order(bars)
    colors = {name: _COLORS[i % len(_COLORS)] for i, name in enumerate(shown)}
    x = list(range(len(bars)))
    bottoms = [0.0] * len(bars)
    handles: list[Patch | Line2D] = []
    labels: list[str] = []
    for name in [*shown, OTHER]:
        heights: list[float] = []
        for bar in bars:
            if bar.total is None:
                heights.append(0.0)
                continue
            listed = dict(bar.groups)
            if name == OTHER:
                drawn = sum((v for n, v in bar.groups if n in colors), Decimal(0))
                heights.append(float(max(bar.total - drawn, Decimal(0))))
            else:
                heights.append(float(listed.get(name, Decimal(0))))
        if not any(heights):
            continue
        if name != OTHER:
            color, label = colors[name], name
        elif shown:
            color, label = _OTHER_COLOR, OTHER
        else:  # nothing itemized (organization totals): the bar is simply the total
            color, label = _COLORS[0], TOTAL
        container = ax.bar(x, heights, width=0.8, bottom=bottoms, color=color, linewidth=0)
        for patch, bar in zip(container.patches, bars, strict=True):
            if bar.partial:
                patch.set_hatch("///")
                patch.set_alpha(0.6)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        handles.append(Patch(facecolor=color))
        labels.append(_label(label))
    for i, bar in enumerate(bars):
        if bar.total is None:
            ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=8, color="#555555")
    for j, budget in enumerate(budgets[:MAX_BUDGETS]):
        xs: list[float] = []
        ys: list[float] = []
        for i, bar in enumerate(bars):
            level = float(budget.per_day * bar.days)
            xs += [i - 0.45, i + 0.45, math.nan]
            ys += [level, level, math.nan]
        color = _BUDGET_COLORS[j % len(_BUDGET_COLORS)]
        (line,) = ax.plot(xs, ys, linestyle="--", linewidth=1.6, color=color)
        handles.append(line)
        labels.append(_label(budget.label, MAX_BUDGET_LABEL))
    ax.set_xticks(x, [_tick(b) for b in bars], fontsize=8)
    ax.set_xlim(-0.6, max(len(bars), 1) - 0.4)
    ax.set_ylabel("USD")
    ax.set_ylim(bottom=0)  # spend is never negative; the "n/a" marks sit on this line
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.grid(axis="y", linewidth=0.5, alpha=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not bars:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    return handles, labels


def _draw_top(ax: Axes, top: Sequence[TopBar]) -> None:
    entries = list(top[:MAX_TOP])
    y = list(range(len(entries)))[::-1]
    lows = [float(e.low) for e in entries]
    extra = [float(max(e.high - e.low, Decimal(0))) for e in entries]
    ax.barh(y, lows, height=0.7, color=_COLORS[0], linewidth=0)
    if any(extra):
        ax.barh(y, extra, left=lows, height=0.7, color="white", edgecolor=_COLORS[0], hatch="///")
    for yi, entry in zip(y, entries, strict=True):
        ax.text(0, yi + 0.42, _label(entry.name), fontsize=8, va="bottom", ha="left")
        ax.text(
            float(entry.high),
            yi,
            " " + (money(entry.low) if entry.low == entry.high else f"≥ {money(entry.low)}"),
            fontsize=7,
            va="center",
            ha="left",
        )
    ax.set_yticks([])
    ax.set_ylim(-0.6, max(len(entries), 1) - 0.1 + 0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("USD over the period")
    right = max((float(e.high) for e in entries), default=1.0) or 1.0
    ax.set_xlim(0, right * 1.35)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if not entries:
        ax.text(0.5, 0.5, "no spend", ha="center", va="center", transform=ax.transAxes)


# -- public -----------------------------------------------------------------------------------


def spend_chart(
    series_by_day: Sequence[ChartBar],
    *,
    budgets: Sequence[BudgetLine] = (),
    title: str = "IonQ spend",
    top: Sequence[TopBar] = (),
    top_title: str = "Top projects",
    note: str = "",
) -> bytes:
    """A PNG of spend per bucket, stacked by group, with budgets pro-rated per bar.

    ``series_by_day`` holds one :class:`ChartBar` per bucket, oldest first (days for digests;
    reports pass their weeks or months). ``budgets`` are drawn as dashed levels (see the module
    docstring); ``top``, when given, adds a panel ranking groups over the whole range. ``note``
    is a footnote. Every text is drawn literally.
    """
    wide = bool(top)
    figure = Figure(figsize=(12.0 if wide else 10.0, 5.6), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    if wide:
        main, side = figure.subplots(1, 2, width_ratios=[3, 2])
        handles, labels = _draw_bars(main, series_by_day, budgets)
        _draw_top(side, top)
        side.set_title(_label(top_title), fontsize=10, loc="left")
    else:
        main = figure.subplots()
        handles, labels = _draw_bars(main, series_by_day, budgets)
    figure.suptitle(safe_terminal(title), fontsize=12)
    footnote = note
    if any(b.partial for b in series_by_day):
        footnote = (footnote + "  " if footnote else "") + "* to date (the bucket contains today)."
    if footnote:
        main.set_xlabel(safe_terminal(footnote), fontsize=7, color="#555555")
    if handles:
        # Handles and labels passed explicitly, so a name starting with "_" is not dropped.
        figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=_legend_columns(labels, LEGEND_CHARS * (1.2 if wide else 1.0)),
            fontsize=8,
            frameon=False,
        )
    _plain_text(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
