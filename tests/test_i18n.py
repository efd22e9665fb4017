"""The customer pages' translations: complete, consistent, and compiled (the committed .mo files
are what the .po files say, so a fresh checkout needs no build step)."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from revtain.formatting import SUPPORTED_LOCALES
from revtain.i18n import TRANSLATIONS, force_locale

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = [lang for lang in SUPPORTED_LOCALES if lang != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def extracted() -> set[str | tuple[str, str]]:
    """Every text the customer pages ask to translate, as pybabel extracts them."""
    found: set = set()
    method_map = [("revtain/cardupdate/**.py", "python"), ("revtain/templates/cardupdate/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords,
    ):
        found.add(message)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_of_the_customer_pages_is_translated(lang):
    messages = {m.id: m for m in catalog(lang) if m.id}
    wanted = extracted()
    assert len(wanted) > 50
    missing = [text for text in wanted if text not in messages or not messages[text].string
               or (isinstance(messages[text].string, tuple) and not all(messages[text].string))]
    assert not missing, f"{lang}: not translated (run scripts/translations): {missing}"
    fuzzy = [m.id for m in messages.values() if m.fuzzy]
    assert not fuzzy, f"{lang}: fuzzy entries to check: {fuzzy}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    for message in catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:  # a singular form may leave the count out ("the field")
            found = set(PLACEHOLDER.findall(string))
            assert found <= expected if len(ids) > 1 else found == expected, (lang, message.id, string)
        assert set(PLACEHOLDER.findall(strings[-1])) == expected, (lang, message.id, strings[-1])


def messages(cat) -> dict:
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {key(m.id): key(m.string) for m in cat if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_file_is_compiled_from_the_po_file(lang):
    compiled = BytesIO()
    write_mo(compiled, catalog(lang))
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        committed = read_mo(f)
    compiled.seek(0)
    fresh = read_mo(compiled)
    assert messages(committed) == messages(fresh), (
        f"revtain/translations/{lang}: the .mo is out of date; run scripts/translations")


def test_force_locale_translates_outside_a_customer_page(app):
    """What ``mkt`` needs for emails: any text in a chosen language, e.g. in a background job."""
    from flask_babel import gettext

    with app.test_request_context("/"):
        with force_locale("de"):
            assert gettext("Payment received") == "Zahlung erhalten"
        assert gettext("Payment received") == "Payment received"
    with app.app_context(), force_locale("es"):
        assert gettext("Payment received") == "Pago recibido"
