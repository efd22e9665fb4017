"""The SVG charts (revtain/reporting/charts.py): axis scale, bar sizes, names and escaping."""

from __future__ import annotations

import re

import pytest

from revtain.formatting import short_money
from revtain.reporting.charts import Bar, Part, Series, column_chart, nice_max, rate_chart, share_chart


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 1.0),
        (0.3, 0.5),
        (1, 1),
        (7, 10),
        (11, 20),
        (2400, 2500),
        (4900, 5000),
        (120_001, 200_000),
    ],
)
def test_nice_max(value, expected):
    assert nice_max(value) == pytest.approx(expected)


def test_column_heights_are_proportional_and_every_bar_is_named():
    svg = str(
        column_chart(
            "c",
            "Title <b>",
            "Desc & more",
            ["Jan", "Feb"],
            [Series("Recovered", "recovered", [50, 100])],
            str,
            lambda v: f"{v:g} units",
        )
    )
    heights = [float(h) for h in re.findall(r'<rect class="series-recovered"[^>]* height="([\d.]+)"', svg)]
    assert heights[1] == pytest.approx(2 * heights[0]) and heights[1] == pytest.approx(174)  # the full plot
    assert (
        "<title>Jan, Recovered: 50 units</title>" in svg and "<title>Feb, Recovered: 100 units</title>" in svg
    )
    assert (
        '<title id="c-title">Title &lt;b&gt;</title>' in svg
        and '<desc id="c-desc">Desc &amp; more</desc>' in svg
    )
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg


def test_whole_counts_get_whole_gridlines_and_labels_are_thinned():
    svg = str(
        column_chart(
            "d",
            "Days",
            "",
            [str(i) for i in range(12)],
            [Series("n", "recovered", [3] * 12)],
            lambda v: f"{v:g}",
            str,
            whole=True,
            max_labels=4,
        )
    )
    axis = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert axis == ["0", "2", "4", "6", "8"]  # 3 rounds up to 5, then to 8: whole steps of 2
    assert len(re.findall(r'text-anchor="middle">\d+</text>', svg)) == 4


def test_rate_bars_without_a_rate_draw_no_bar_but_keep_their_label():
    svg = str(
        rate_chart("r", "Rates", "", [Bar("Funds", 50.0, "50.0 % (1/2)"), Bar("Generic", None, "- (0/0)")])
    )
    assert svg.count('<rect class="series-rate"') == 1
    assert ">Generic</text>" in svg and ">- (0/0)</text>" in svg
    width = float(re.search(r'<rect class="series-rate" x="112" y="[\d.]+" width="([\d.]+)"', svg).group(1))
    assert width == pytest.approx((360 - 112 - 92) / 2)


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (150_000, "USD", "$1.5K"),
        (1250, "USD", "$12.5"),
        (0, "EUR", "€0"),
        (500_000, "JPY", "¥500K"),
        (1875, "USD", "$18.75"),
    ],
)
def test_axis_amounts_are_short(minor, currency, expected):
    assert short_money(minor, currency) == expected


def test_share_bars_split_in_proportion_and_skip_empty_parts():
    parts = [
        Part("Recovered", "recovered", 300, "$3.00"),
        Part("Lost", "failed", 0, "$0.00"),
        Part("Still at risk", "at-risk", 100, "$1.00"),
    ]
    svg = str(share_chart("s", "Shares", "", [("USD", parts)]))
    widths = [
        float(w)
        for w in re.findall(r'<rect class="series-[a-z-]+" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    ]
    assert widths == [pytest.approx(304 * 0.75), pytest.approx(304 * 0.25)]
    assert "<title>USD, Still at risk: $1.00</title>" in svg and "Lost" not in svg
