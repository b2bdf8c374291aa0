"""The insights' charts: SVG drawn from the numbers, one line per series, escaped labels, a
y axis in minutes or hours, and the same numbers as table rows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from bot.web.charts import Line, nice_ticks, scale_for, weekly_chart

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(4)]


def test_one_path_per_line_with_a_legend_and_a_break_where_a_week_has_nothing() -> None:
    chart = weekly_chart("mtta", "Mean time to acknowledge", WEEKS, [
        Line("sev1", [240.0, None, 600.0, 300.0], [2, 0, 1, 1]),
        Line("sev2", [60.0, 90.0, 30.0, None], [1, 1, 1, 0])])
    root = ET.fromstring(str(chart.svg))  # well-formed XML

    paths = root.findall(f"{SVG}path")
    assert [p.get("class") for p in paths] == ["series series-0", "series series-1"]
    assert re.fullmatch(r"M\S+ \S+ M\S+ \S+ L\S+ \S+", paths[0].get("d", ""))  # lifted over the empty week
    assert len(root.findall(f"{SVG}circle")) == 6  # a point per value
    assert [t.text for t in root.iter(f"{SVG}text") if t.text in ("sev1", "sev2")] == ["sev1", "sev2"]  # legend
    assert [t.text for t in root.find(f"{SVG}g[@class='axis-x']").iter(f"{SVG}text")] == [
        "Nov 2", "Nov 9", "Nov 16", "Nov 23"]
    assert root.find(f"{SVG}title").text == "Mean time to acknowledge"
    assert "style" not in str(chart.svg)
    assert [(r.week, r.cells) for r in chart.rows] == [
        (WEEKS[0], (("4.0", 2), ("1.0", 1))), (WEEKS[1], (None, ("1.5", 1))),
        (WEEKS[2], (("10.0", 1), ("0.5", 1))), (WEEKS[3], (("5.0", 1), None))]


def test_points_sit_on_the_y_axis_scale() -> None:
    chart = weekly_chart("c", "t", WEEKS[:2], [Line("sev1", [0.0, 600.0], [1, 1])])
    root = ET.fromstring(str(chart.svg))
    ticks = {float(t.text): float(t.get("y")) for t in root.find(f"{SVG}g[@class='axis-y']").iter(f"{SVG}text")
             if t.get("class") != "unit"}
    zero, ten = [float(c.get("cy")) for c in root.findall(f"{SVG}circle")]
    assert chart.scale.unit == "minutes" and ticks[0.0] == zero and ticks[10.0] == ten


def test_labels_are_text_never_markup() -> None:
    chart = weekly_chart("c", "<b>t</b>", WEEKS[:1], [Line('<script>alert("x")</script>', [60.0], [1])])
    assert "<script" not in str(chart.svg) and "<b>" not in str(chart.svg)
    assert "&lt;script&gt;" in str(chart.svg)
    ET.fromstring(str(chart.svg))


def test_the_y_axis_counts_minutes_up_to_two_hours_then_hours() -> None:
    assert scale_for(7200).unit == "minutes" and scale_for(7200).top >= 120
    hours = scale_for(7201)
    assert hours.unit == "hours" and hours.per_unit == 3600 and hours.top >= 7201 / 3600
    assert nice_ticks(37) == (0, 10, 20, 30, 40) and nice_ticks(0) == (0.0, 1.0)
    assert nice_ticks(7.3)[-1] >= 7.3 and len(nice_ticks(7.3)) <= 7


def test_a_year_of_weeks_gets_a_readable_number_of_labels() -> None:
    weeks = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(53)]
    chart = weekly_chart("c", "t", weeks, [Line("sev1", [60.0] * 53, [1] * 53)])
    labels = list(ET.fromstring(str(chart.svg)).find(f"{SVG}g[@class='axis-x']").iter(f"{SVG}text"))
    assert 5 <= len(labels) <= 9 and labels[0].text == "Jan 5"


def test_a_line_must_have_a_value_per_week() -> None:
    with pytest.raises(ValueError, match="3 weeks"):
        weekly_chart("c", "t", WEEKS[:3], [Line("sev1", [1.0], [1])])
    with pytest.raises(ValueError, match="chart_id"):
        weekly_chart('x" onload="', "t", WEEKS[:1], [])
