"""Accessibility checks in the browser tests: axe-core (vendored, MPL-2.0) run inside the page.

``serious_violations(page)`` injects axe into the page as it stands (through Playwright: as a script
tag, or evaluated through the DevTools protocol where the page's CSP refuses inline scripts) and
returns the violations whose impact is serious or critical, each as ``"<rule id>: <help> (<selector>,
...)"`` so an assertion failure says what to fix.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def serious_violations(page, *, context: str | None = None, rules: dict | None = None) -> list[str]:
    try:
        page.add_script_tag(content=AXE.read_text())
    except Exception:  # a page whose CSP allows only nonce'd scripts refuses a <script> tag
        page.evaluate(AXE.read_text())  # evaluated through the DevTools protocol instead
    result = page.evaluate(
        """async ([context, rules]) => {
            const options = {resultTypes: ["violations"]};
            if (rules) options.rules = rules;
            return await axe.run(context || document, options);
        }""",
        [context, rules],
    )
    return [
        f"{v['id']}: {v['help']} ({', '.join(t for n in v['nodes'][:5] for t in n['target'])})"
        for v in result["violations"]
        if v.get("impact") in SERIOUS
    ]
