"""Line charts as inline SVG, drawn on the server from the numbers: one line per series with
a legend, week labels on the x axis, minutes or hours on the y axis. Pure: no I/O, no script,
no style attributes (the page's CSP forbids them; colours and dashes are classes in app.css).
Every text in the picture is escaped, and the same numbers come back as table rows for the
page's plain table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
PALETTE = 6  # app.css has .series-0 … .series-5; more series reuse them in turn
MAX_X_LABELS = 9
LEGEND_PER_ROW = 5
MINUTES_UP_TO = 120 * 60.0  # above two hours the axis counts hours


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    values: Sequence[float | None]  # seconds, one per x position; None: nothing that week
    counts: Sequence[int]  # what each value is the mean of


@dataclass(frozen=True, slots=True)
class Scale:
    unit: str  # "minutes" or "hours"
    per_unit: float  # seconds in one unit
    ticks: tuple[float, ...]  # in units, from 0 to the top of the axis

    @property
    def top(self) -> float:
        return self.ticks[-1]

    def shown(self, seconds: float) -> str:
        value = seconds / self.per_unit
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def nice_ticks(largest: float, wanted: int = 5) -> tuple[float, ...]:
    """0 up to a round number at or above ``largest``, in steps of 1, 2 or 5 times a power of ten."""
    if largest <= 0 or not math.isfinite(largest):
        return (0.0, 1.0)
    raw = largest / wanted
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = math.ceil(largest / step - 1e-9)
    return tuple(round(i * step, 10) for i in range(count + 1))


def scale_for(largest_seconds: float) -> Scale:
    if largest_seconds <= MINUTES_UP_TO:
        return Scale("minutes", 60.0, nice_ticks(largest_seconds / 60.0))
    return Scale("hours", 3600.0, nice_ticks(largest_seconds / 3600.0))


def short_week(week: date) -> str:
    return f"{week:%b} {week.day}"


@dataclass(frozen=True, slots=True)
class Row:
    """One week of the chart's table: per line, (value in the scale's unit, count) or None."""

    week: date
    cells: tuple[tuple[str, int] | None, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    scale: Scale
    weeks: tuple[date, ...]
    lines: tuple[Line, ...]

    @property
    def rows(self) -> list[Row]:
        return [Row(week, tuple(None if line.values[i] is None else (self.scale.shown(line.values[i] or 0.0),
                                                                     line.counts[i])
                                for line in self.lines))
                for i, week in enumerate(self.weeks)]


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def weekly_chart(chart_id: str, title: str, weeks: Sequence[date], lines: Sequence[Line], *,
                 per: str = "severity") -> Chart:
    """The SVG of ``lines`` over ``weeks``; ``chart_id`` (letters, digits, dashes) names its title."""
    if not chart_id.replace("-", "").isalnum():
        raise ValueError(f"chart_id must be letters, digits and dashes, not {chart_id!r}")
    for line in lines:
        if len(line.values) != len(weeks) or len(line.counts) != len(weeks):
            raise ValueError(f"line {line.label!r} has {len(line.values)} values for {len(weeks)} weeks")
    largest = max((v for line in lines for v in line.values if v is not None), default=0.0)
    scale = scale_for(largest)

    def x(i: int) -> float:
        return LEFT + (PLOT_W / 2 if len(weeks) == 1 else i * PLOT_W / (len(weeks) - 1))

    def y(seconds: float) -> float:
        return TOP + PLOT_H - (seconds / scale.per_unit) / scale.top * PLOT_H

    parts = [Markup('<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
                    'aria-labelledby="{}-title {}-desc">').format(WIDTH, HEIGHT, chart_id, chart_id),
             Markup('<title id="{}-title">{}</title>').format(chart_id, title),
             Markup('<desc id="{}-desc">{} by week, in {}, one line per {}. The same numbers are in the table '
                    'below.</desc>').format(chart_id, title, scale.unit, per)]
    parts.append(Markup('<g class="axis-y">'))
    for tick in scale.ticks:
        at = y(tick * scale.per_unit)
        parts.append(Markup('<line class="grid" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}"/>'
                            '<text x="{}" y="{:.1f}" text-anchor="end" dominant-baseline="middle">{}</text>')
                     .format(LEFT, at, LEFT + PLOT_W, at, LEFT - 6, at, _number(tick)))
    parts.append(Markup('<text class="unit" x="{}" y="{}" text-anchor="start">{}</text></g>')
                 .format(4, TOP - 10, scale.unit))
    every = max(1, math.ceil(len(weeks) / MAX_X_LABELS))
    parts.append(Markup('<g class="axis-x"><line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>')
                 .format(LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H))
    for i, week in enumerate(weeks):
        if i % every == 0:
            parts.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>')
                         .format(x(i), TOP + PLOT_H + 18, short_week(week)))
    parts.append(Markup("</g>"))
    for n, line in enumerate(lines):
        css = f"series series-{n % PALETTE}"
        legend_x, legend_y = LEFT + (n % LEGEND_PER_ROW) * 110, 10 + (n // LEGEND_PER_ROW) * 14
        parts.append(Markup('<g class="legend"><line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                            '<text x="{}" y="{}" dominant-baseline="middle">{}</text></g>')
                     .format(css, legend_x, legend_y, legend_x + 22, legend_y, legend_x + 28, legend_y,
                             line.label[:16]))
        path, pen_down = [], False
        for i, value in enumerate(line.values):
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(i):.1f} {y(value):.1f}")
            pen_down = True
        parts.append(Markup('<path class="{}" fill="none" d="{}"><title>{}</title></path>')
                     .format(css, " ".join(path), line.label))
        for i, value in enumerate(line.values):
            if value is not None:
                parts.append(Markup('<circle class="point series-{}" cx="{:.1f}" cy="{:.1f}" r="3">'
                                    '<title>{}, week of {}: {} {} (mean of {})</title></circle>')
                             .format(n % PALETTE, x(i), y(value), line.label, weeks[i].isoformat(),
                                     scale.shown(value), scale.unit, line.counts[i]))
    parts.append(Markup("</svg>"))
    return Chart(Markup("").join(parts), scale, tuple(weeks), tuple(lines))
