"""Server-rendered charts of the console: inline SVG, no script, no external asset (the console's CSP allows
neither, and a chart must work offline and printed).

A chart never carries information by colour alone: each outcome has its own fill pattern as well as its colour,
a legend in words, a ``<title>`` per bar with the day's counts, the day's total printed above its bar, and the page
puts a table of the same numbers next to it. Styling uses SVG presentation attributes only (the CSP forbids inline
``style``).
"""

from __future__ import annotations

import math
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from console.oversight import OUTCOMES, Series

#: Colour, words, and the pattern drawn over the colour, per outcome.
OUTCOME_LOOK = {
    "released": ("#1f7a3a", "released (permit)", "solid"),
    "partial": ("#a86500", "partial", "stripes"),
    "denied": ("#b3261e", "denied", "crosshatch"),
    "pending": ("#4b5563", "pending (holder decides)", "dots"),
}

PLOT_HEIGHT = 160
TOP = 28
LEFT = 44
RIGHT = 12
BOTTOM = 58
LEGEND_HEIGHT = 22
MAX_WIDTH = 760
MIN_WIDTH = 600  # room for the legend


def _pattern(chart_id: str, outcome: str) -> str:
    colour, _, kind = OUTCOME_LOOK[outcome]
    pid = f"{chart_id}-{outcome}"
    marks = {
        "solid": "",
        "stripes": '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#ffffff" stroke-width="1.4"/>',
        "crosshatch": '<path d="M0,0 l6,6 M6,0 l-6,6" stroke="#ffffff" stroke-width="1.1"/>',
        "dots": '<circle cx="3" cy="3" r="1.3" fill="#ffffff"/>',
    }[kind]
    return (
        f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{colour}"/>{marks}</pattern>'
    )


def nice_ceiling(value: int) -> int:
    """The axis maximum: ``value`` rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def series_title(series: Series) -> str:
    who = series.organisation or "all organisations"
    first, last = series.days[0].day, series.days[-1].day
    return f"Requests per day by outcome, {who}, {first.isoformat()} to {last.isoformat()}"


def stacked_bar_chart(series: Series, *, chart_id: str) -> SafeString:
    """A stacked bar per day (released, partial, denied, pending from the bottom), with axes, a legend, a
    ``<title>``, an ``aria-label`` summing up the period, and each day's counts in its bar's ``<title>``."""
    chart_id = re.sub(r"[^a-zA-Z0-9_-]", "-", chart_id)
    days = series.days
    slot = max(6, min(64, (MAX_WIDTH - LEFT - RIGHT) // max(len(days), 1)))
    bar = max(4, slot - max(2, slot // 5))
    width = max(LEFT + slot * len(days) + RIGHT, MIN_WIDTH)
    height = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_HEIGHT
    top = nice_ceiling(max((day.total for day in days), default=0))
    scale = PLOT_HEIGHT / top
    base = TOP + PLOT_HEIGHT
    totals = series.outcome_totals()
    title = series_title(series)
    summary = f"{title}: {series.total} requests; " + ", ".join(
        f"{totals[outcome]} {OUTCOME_LOOK[outcome][1]}" for outcome in OUTCOMES
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'aria-label="{escape(summary)}" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}. The same counts are in the table next to the chart.</desc>',
        "<defs>" + "".join(_pattern(chart_id, outcome) for outcome in OUTCOMES) + "</defs>",
    ]
    for tick in (0, top // 2 if top % 2 == 0 else None, top):
        if tick is None:
            continue
        y = base - tick * scale
        parts.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5d9e0" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#1b1b1b">{tick}</text>'
        )
    parts.append(
        f'<text x="12" y="{TOP + PLOT_HEIGHT / 2:.1f}" text-anchor="middle" fill="#1b1b1b" '
        f'transform="rotate(-90 12 {TOP + PLOT_HEIGHT / 2:.1f})">Requests per day</text>'
    )
    label_every = max(1, math.ceil(len(days) / 10))
    for position, day in enumerate(days):
        x = LEFT + position * slot + (slot - bar) / 2
        counts = ", ".join(f"{day.counts[outcome]} {OUTCOME_LOOK[outcome][1]}" for outcome in OUTCOMES)
        parts.append(f"<g><title>{day.day.isoformat()}: {day.total} requests ({escape(counts)})</title>")
        y = float(base)
        for outcome in OUTCOMES:
            count = day.counts[outcome]
            if not count:
                continue
            h = count * scale
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="url(#{chart_id}-{outcome})" '
                f'stroke="#ffffff" stroke-width="0.5"/>'
            )
        if day.total and slot >= 14:  # too narrow to print; the bar's title and the table still say it
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" fill="#1b1b1b" '
                f'font-size="9">{day.total}</text>'
            )
        parts.append("</g>")
        if position % label_every == 0 or position == len(days) - 1:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 14}" text-anchor="end" fill="#1b1b1b" '
                f'transform="rotate(-45 {x + bar / 2:.1f} {base + 14})">{day.day.strftime("%d %b")}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{base}" y2="{base}" stroke="#1b1b1b" stroke-width="1"/>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="#1b1b1b" stroke-width="1"/>'
        f'<text x="{LEFT + (width - LEFT - RIGHT) / 2:.1f}" y="{base + BOTTOM - 8}" text-anchor="middle" '
        f'fill="#1b1b1b">Day</text>'
    )
    x = float(LEFT)
    legend_y = height - LEGEND_HEIGHT + 6
    for outcome in OUTCOMES:
        words = OUTCOME_LOOK[outcome][1]
        parts.append(
            f'<rect x="{x:.1f}" y="{legend_y}" width="12" height="12" fill="url(#{chart_id}-{outcome})" '
            f'stroke="#1b1b1b" stroke-width="0.5"/>'
            f'<text x="{x + 16:.1f}" y="{legend_y + 10}" fill="#1b1b1b">{escape(words)}: {totals[outcome]}</text>'
        )
        x += 16 + 6.2 * (len(words) + 2 + len(str(totals[outcome]))) + 14
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text in it is escaped above; the rest is ours
