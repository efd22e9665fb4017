"""Marketing templates cannot hold a worker: rendering is bounded in work, time and size.

Before the bounds, three nested loops over ``'x' * 1000`` held a gunicorn worker for up to a
minute and a template like that could be saved and published. The bounds are counted (steps,
characters), so these tests assert what was refused and how much work was allowed, never how long
anything took.
"""

from __future__ import annotations

import pytest

from revtain.dunning import sandbox
from revtain.dunning.templates import DEFAULT_TEMPLATES, TemplateError, render, sample_variables

# Also refused everywhere a template renders (editor, save, publish, test and real sends): see the
# end of test_dashboard_dunning.py.
NESTED_LOOPS = (
    "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)

# Each way a template could make a worker spend without bound, and what the marketer is told.
ATTACKS = [
    (NESTED_LOOPS, "rendering it takes too much work (more than 200,000 steps)"),
    (
        "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{{ a }}{% endfor %}{% endfor %}",
        "rendering it takes too much work",
    ),
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", "a macro calls itself too deeply"),
    (
        "{% macro m() %}{% for c in 'x' * 1000 %}{{ 'y' * 400000 }}{% endfor %}{% endmacro %}{{ m() }}",
        "more than 5,000,000 characters of text along the way",
    ),
    ("{% for c in 'x' * 1000 %}{{ 'y' * 1000 }}{% endfor %}", "longer than 500,000 characters"),
    ("{{ 'x' * 10**9 }}", "that repetition is too large"),
    ("{{ 'x'.center(10**9) }}", "widths above 10,000 are not allowed"),
    ("{{ 'x'|center(999999999) }}", "widths above 10,000 are not allowed"),
    ("{{ '%0999999999d'|format(1) }}", "widths above 10,000 are not allowed"),
    ("{{ '%*d' % (999999999, 1) }}", "widths above 10,000 are not allowed"),
    ("{{ '{:>999999999}'.format(1) }}", "widths above 10,000 are not allowed"),
    ("{{ '{:{w}}'.format(1, w=999999999) }}", "nested fields in a format specification are not allowed"),
    ("{% set a = 'x' * 400000 %}{% set b = a ~ a %}{{ b }}", "longer than 500,000 characters"),
    ("{% set a = 'x' * 400000 %}{{ a + a }}", "longer than 500,000 characters"),
    ("{{ ('x' * 400000)|replace('x', 'yy') }}", "longer than 500,000 characters"),
    ("{{ ('x' * 400000).replace('x', 'yy') }}", "longer than 500,000 characters"),
    ("{{ ('x' * 400000).translate({120: 'yy'}) }}", "longer than 500,000 characters"),
    ("{{ ('\t' * 1000).expandtabs(1000) }}", "longer than 500,000 characters"),
    ("{% set a = 'x' * 400000 %}{{ [a, a]|join }}", "longer than 500,000 characters"),
    ("{% set a = 'x' * 400000 %}{{ ''.join([a, a]) }}", "longer than 500,000 characters"),
    (
        "{% set a = 'x' * 100000 %}{% set b = [a, a] %}{% set c = [b, b] %}{% set d = [c, c] %}{{ d == d }}",
        "longer than 500,000 characters",
    ),
    ("{{ ('\n' * 1000)|indent(1000) }}", "longer than 500,000 characters"),
    ("{{ ('x' * 1000)|wordwrap(1, wrapstring='y' * 1000) }}", "longer than 500,000 characters"),
    ("{{ [[[1]]]|tojson(indent=999999999) }}", "widths above 10,000 are not allowed"),
    ("{{ [1]|batch(999999999, 'x')|list }}", "widths above 10,000 are not allowed"),
    ("{{ [[1] * 1000] * 400|sum(start=[]) }}", "sum adds numbers only"),
    (
        "{% set a = 10**60 %}{% set b = a * a %}{% set c = b * b %}{% set d = c * c %}{{ d * d * d }}",
        "that number is too large",
    ),
    ("{{ 10 ** 100 }}", "exponents above 64 are not allowed"),
]


@pytest.mark.parametrize(("source", "message"), ATTACKS)
def test_a_template_that_would_hold_a_worker_is_stopped_with_a_clear_error(source, message):
    with pytest.raises(TemplateError) as refused:
        render("Subject", source, "text", sample_variables())
    assert refused.value.part == "html"
    assert message in str(refused.value)


def test_the_work_allowed_is_counted_not_timed():
    """The nested loops stop after the step budget: the count, not the machine's speed, decides."""
    renderer = sandbox.Renderer()
    with pytest.raises(sandbox.RenderLimit):
        renderer.render(True, NESTED_LOOPS, {})
    assert renderer.operations == sandbox.MAX_OPERATIONS


@pytest.mark.parametrize("key", DEFAULT_TEMPLATES)
def test_real_templates_use_a_sliver_of_the_budget(key):
    template = DEFAULT_TEMPLATES[key]
    renderer = sandbox.Renderer()
    for part, html in (("subject", False), ("html", True), ("text", False)):
        renderer.render(html, template[part], sample_variables())
    assert renderer.operations < sandbox.MAX_OPERATIONS // 100
    assert renderer.budget.made < sandbox.MAX_CHARS_MADE // 100


def test_loops_filters_and_methods_within_the_bounds_still_work():
    source = (
        "{% for c in merchant_name %}{{ c|upper }}{% endfor %} "
        "{{ '%-6s|' % 'ab' }}{{ '{:>5}'.format(currency) }} {{ amount|center(12) }} "
        "{{ ['a', 'b']|join('-') }} {{ 'x' * 3 }} {{ decline_reason|wordwrap(40)|length > 0 }}"
    )
    rendered = render("Subject", source, "text", sample_variables())
    assert rendered.html == "ACME INC ab    |  USD    $49.00    a-b xxx True"


def test_the_budget_is_for_the_whole_email_not_each_part():
    part = "{% for a in 'x' * 200 %}{% for b in 'x' * 200 %}{% endfor %}{% endfor %}"
    renderer = sandbox.Renderer()
    renderer.render(True, part, {})
    assert sandbox.MAX_OPERATIONS / 2 < renderer.operations < sandbox.MAX_OPERATIONS  # fits, once
    render("Subject", part, "text", sample_variables())
    with pytest.raises(TemplateError, match="text: rendering it takes too much work"):
        render("Subject", part, part, sample_variables())
