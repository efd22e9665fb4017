"""The branded layout dunning emails extend, and what is done to an email once it is rendered.

A template writes ``{% extends "layout.html" %}`` and fills ``{% block preheader %}`` (the line a
mail app shows after the subject) and ``{% block content %}``; the layout adds the header (the
merchant's logo or name on its brand colour), the footer (support contact, unsubscribe link) and
the styles. The layout is ours, but it renders inside the same sandbox and budget as the template
that extends it (``sandbox.environment``), with the brand variables of ``templates.variables``.

After rendering, the ``<style>`` rules are inlined into ``style`` attributes (``css-inline``; many
mail apps drop ``<style>``), with remote stylesheets never fetched: a template is untrusted and
must not make Revtain request URLs. A template with no text part gets one generated from its HTML
(``html2text``), so the two never drift apart.
"""

from __future__ import annotations

import re

import css_inline
import html2text

LAYOUT_NAME = "layout.html"

DEFAULT_BRAND_COLOR = "#4f46e5"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

LAYOUT_HTML = """<!doctype html>
<html lang="{{ lang|default('en') }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ merchant_name }}</title>
<style>
body { margin: 0; padding: 0; background: #f6f7f9; color: #1f2933;
       font-family: Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; }
.wrap { width: 100%; background: #f6f7f9; padding: 24px 0; }
.card { width: 100%; max-width: 560px; margin: 0 auto; background: #ffffff; border-radius: 8px; }
.header { background: {{ brand_color }}; color: {{ brand_text_color }}; padding: 20px 32px;
          border-radius: 8px 8px 0 0; font-size: 20px; font-weight: bold; }
.header img { max-height: 40px; max-width: 200px; border: 0; vertical-align: middle; }
.content { padding: 32px; }
.content p { margin: 0 0 16px; }
.button { background: {{ brand_color }}; color: {{ brand_text_color }}; padding: 12px 20px;
          border-radius: 6px; text-decoration: none; display: inline-block; font-weight: bold; }
.note { font-size: 13px; color: #52606d; }
.footer { padding: 16px 32px 32px; font-size: 12px; color: #52606d; text-align: center; }
.footer a { color: #3e4c59; }
.preheader { display: none; max-height: 0; overflow: hidden; mso-hide: all; }
</style></head>
<body>
<div class="preheader">{% block preheader %}{% endblock %}</div>
<div class="wrap">
<table role="presentation" class="card" width="100%" cellpadding="0" cellspacing="0">
<tr><td class="header">
{%- if brand_logo_url %}<img src="{{ brand_logo_url }}" alt="{{ merchant_name }}" height="40">
{%- else %}{{ merchant_name }}{% endif -%}
</td></tr>
<tr><td class="content">
{% block content %}{% endblock %}
</td></tr>
<tr><td class="footer">
{% block footer %}
<p>Questions? Reply to this email{% if support_email %} or write to
<a href="mailto:{{ support_email }}">{{ support_email }}</a>{% endif %}.</p>
<p>You receive this email about a payment for your {{ merchant_name }} account.
<a href="{{ unsubscribe_url }}">Unsubscribe from payment reminders</a>.</p>
{% endblock %}
</td></tr>
</table>
</div>
{%- if open_pixel_url %}<img src="{{ open_pixel_url }}" width="1" height="1" alt="">{% endif %}
</body></html>
"""

LAYOUTS = {LAYOUT_NAME: LAYOUT_HTML}

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def brand_color(value: str | None) -> str:
    return value if value and _HEX.match(value) else DEFAULT_BRAND_COLOR


def _luminance(color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color_on(background: str) -> str:
    """White or near-black, whichever reads better on the brand colour (a light yellow brand gets
    dark text, never white on yellow)."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#111827") else "#111827"


def inline_css(html: str) -> str:
    """The ``<style>`` rules moved into ``style`` attributes. An HTML that css-inline cannot parse
    is sent as rendered rather than not at all; one without ``<style>`` is left as it is."""
    if "<style" not in html.lower():
        return html
    try:
        return _INLINER.inline(html)
    except ValueError:
        return html


def text_from_html(html: str) -> str:
    """The plain-text part: links kept as ``text (url)``-style references, no line wrapping (mail
    apps wrap), images dropped, the hidden preheader left out."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.inline_links = True
    converter.protect_links = False
    html = re.sub(r'<div class="preheader".*?</div>', "", html, count=1, flags=re.S)
    text = converter.handle(html)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
