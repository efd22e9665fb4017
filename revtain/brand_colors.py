"""Brand colours people can read: WCAG 2.x contrast, checked when a colour is saved and again when
a page is drawn with it (a colour saved before the rule, or through the CLI, still gets readable
text).

The brand colour is the background of the card page's buttons, with white text on it; WCAG AA asks
for 4.5:1 for normal text (1.4.3).
"""

from __future__ import annotations

import re

AA_NORMAL_TEXT = 4.5
WHITE = "#ffffff"
DARK_TEXT = "#111827"  # the pages' own body text colour
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(background: str) -> str:
    """White text on the brand colour when it reads at AA, else the dark body text colour."""
    if HEX_COLOR.match(background or "") and contrast(WHITE, background) < AA_NORMAL_TEXT:
        return DARK_TEXT
    return WHITE


def darker(color: str) -> str:
    """The same hue darkened until white text on it reaches AA: a suggestion for the merchant."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    for step in range(100, -1, -1):
        candidate = "#{:02x}{:02x}{:02x}".format(*(round(v * step / 100) for v in (r, g, b)))
        if contrast(WHITE, candidate) >= AA_NORMAL_TEXT:
            return candidate
    return "#000000"


def brand_color_problem(color: str) -> str | None:
    """Why a brand colour cannot be saved (white button text on it would be hard to read), or None."""
    ratio = contrast(WHITE, color)
    if ratio >= AA_NORMAL_TEXT:
        return None
    return (f"White button text on {color} has a contrast of only {ratio:.2f}:1; customers need at "
            f"least {AA_NORMAL_TEXT}:1 (WCAG AA) to read it. Choose a darker colour, "
            f"for example {darker(color)}.")
