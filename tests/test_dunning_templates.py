"""Dunning templates: the sandbox, strict variables, autoescaping, amounts per currency, defaults."""

from __future__ import annotations

import pytest

from revtain.dunning.templates import (
    DEFAULT_TEMPLATES,
    VARIABLES,
    TemplateError,
    customer_reason,
    preview,
    render,
    sample_variables,
)
from revtain.formatting import money, money_with_code


def html(source: str, **extra) -> str:
    return render("Subject", source, "text", {**sample_variables(), **extra}).html


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ customer_email.__class__.__base__.__subclasses__() }}",
        "{{ amount.format.__globals__ }}",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
        "{{ config }}{{ self }}",
        "{{ lipsum.__globals__ }}",
        "{{ namespace() }}",
        "{{ range(10) }}",
        "{{ 'x' * 100000000 }}",
        "{{ ((9 ** 64) ** 64) ** 64 }}",
    ],
)
def test_reaching_for_python_internals_is_refused(source):
    with pytest.raises(TemplateError) as err:
        html(source)
    assert err.value.part == "html"
    assert str(err.value).startswith("html: ")


def test_an_undefined_variable_is_refused_with_the_available_names():
    with pytest.raises(TemplateError) as err:
        render("Hi {{ first_name }}", "<p>x</p>", "x", sample_variables())
    message = str(err.value)
    assert message.startswith("subject: ") and "'first_name' is undefined" in message
    assert all(name in message for name in VARIABLES)


def test_a_syntax_error_names_the_part_and_the_line():
    with pytest.raises(TemplateError) as err:
        render("ok", "<p>ok</p>", "line one\n{% if amount %}\nno end", sample_variables())
    assert err.value.part == "text" and err.value.line is not None
    assert "syntax error" in str(err.value)


def test_an_expression_that_raises_is_refused():
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        html("{{ 1 / 0 }}")


def test_html_is_autoescaped_and_text_and_subject_are_not():
    rendered = render("{{ merchant_name }}", "<b>{{ merchant_name }}</b>", "{{ merchant_name }}",
                      {**sample_variables(), "merchant_name": "Tom & Jerry <Co>"})
    assert rendered.html == "<b>Tom &amp; Jerry &lt;Co&gt;</b>"
    assert rendered.text == "Tom & Jerry <Co>"
    assert rendered.subject == "Tom & Jerry <Co>"


def test_a_subject_is_one_line():
    assert render("Hello\r\nBcc: x@example.com", "h", "t", sample_variables()).subject == (
        "Hello Bcc: x@example.com"
    )
    with pytest.raises(TemplateError, match="empty"):
        render("{{ '' }}", "h", "t", sample_variables())


@pytest.mark.parametrize(
    ("minor", "currency", "amount", "with_code"),
    [
        (4900, "USD", "$49.00", "$49.00 USD"),
        (5000, "JPY", "¥5,000", "¥5,000 JPY"),
        (123456789, "EUR", "€1,234,567.89", "€1,234,567.89 EUR"),
        (1500, "KWD", "KWD1.500", "KWD1.500"),
        (1234567, "BHD", "BHD1,234.567", "BHD1,234.567"),
        (990, "GBP", "£9.90", "£9.90 GBP"),
        (5, "usd", "$0.05", "$0.05 USD"),
        (250000, "KRW", "₩250,000", "₩250,000 KRW"),
        (1999, "CHF", "CHF19.99", "CHF19.99"),
        (4900, "CAD", "CA$49.00", "CA$49.00 CAD"),
    ],
)
def test_amounts_are_formatted_for_their_currency(minor, currency, amount, with_code):
    assert money(minor, currency) == amount
    assert money_with_code(minor, currency) == with_code


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "amount"),
    [
        (4900, "EUR", "fr", "49,00\u00a0€"),
        (123456789, "EUR", "de-DE", "1.234.567,89\u00a0€"),
        (50000, "JPY", "es", "50.000\u00a0JPY"),
        (4900, "USD", "xx-unknown", "$49.00"),
    ],
)
def test_amounts_follow_the_customers_locale(minor, currency, locale, amount):
    assert money(minor, currency, locale) == amount


def test_the_default_templates_render_with_sample_data():
    assert set(DEFAULT_TEMPLATES) == {"soft_decline", "new_card", "authentication"}
    for spec in DEFAULT_TEMPLATES.values():
        rendered = preview(spec["subject"], spec["html"], spec["text"])
        link = sample_variables()["card_update_link"]
        assert link in rendered.text and f'href="{link}"' in rendered.html
        assert "Acme Inc" in rendered.subject and "{{" not in rendered.text + rendered.html


def test_the_decline_reason_is_in_plain_words():
    variables = sample_variables()
    assert variables["decline_reason"] == ("Your bank declined the payment because the account didn't "
                                           "have enough funds at the time.")
    assert html("{{ decline_reason }}") == variables["decline_reason"].replace("'", "&#39;")


@pytest.mark.parametrize(("code", "words"), [
    ("expired_card", "The card on file has expired."),
    ("do_not_honor", "Your bank declined the payment. This is often temporary"),
    ("authentication_required", "Your bank needs you to confirm this payment"),
    ("gateway_timeout", "temporary problem with the payment network"),
    ("fraudulent", "Please contact your bank, or use a different card."),
    ("some_code_nobody_knows", "The payment didn't go through."),
    (None, "The payment didn't go through."),
])
def test_the_decline_reason_speaks_to_the_customer_not_the_merchant(code, words):
    reason = customer_reason(code)
    assert words in reason
    assert "customer" not in reason.lower() and "retry" not in reason.lower()


@pytest.mark.parametrize(("language", "code", "words"), [
    ("fr", "expired_card", "La carte enregistrée a expiré."),
    ("de", "insufficient_funds", "nicht ausreichend gedeckt"),
    ("es", "do_not_honor", "Tu banco rechazó el pago."),
    ("fr", "some_code_nobody_knows", "Le paiement n'a pas abouti."),
    ("en", None, "The payment didn't go through."),
    ("pt", "expired_card", "The card on file has expired."),  # a language not written yet: English
])
def test_the_decline_reason_is_in_the_customers_language(language, code, words):
    assert words in customer_reason(code, language)
    assert words in render("{{ decline_reason }}", "<p>x</p>", "", {
        **sample_variables(), "decline_reason": customer_reason(code, language)}).subject


def test_every_language_has_every_default_and_reason_with_the_same_variables():
    import re

    from revtain.dunning.default_texts import REASONS_BY_CATEGORY, REASONS_BY_CODE
    from revtain.dunning.templates import DEFAULTS_BY_LANGUAGE, localized
    from revtain.formatting import SUPPORTED_LOCALES

    def uses(source: str) -> set[str]:
        return set(re.findall(r"{{\s*(\w+)", source))

    assert set(DEFAULTS_BY_LANGUAGE) == set(SUPPORTED_LOCALES)
    for language in SUPPORTED_LOCALES:
        assert REASONS_BY_CODE[language].keys() == REASONS_BY_CODE["en"].keys()
        assert REASONS_BY_CATEGORY[language].keys() == REASONS_BY_CATEGORY["en"].keys()
        for key, english in DEFAULT_TEMPLATES.items():
            own = DEFAULTS_BY_LANGUAGE[language][key]
            assert own["name"] == english["name"]  # what merchants see stays English
            for part in ("subject", "html"):
                assert uses(own[part]) == uses(english[part]), (language, key, part)
            assert localized(english["subject"], english["html"], "", language) == (
                own["subject"], own["html"], "")
            preview(own["subject"], own["html"], own["text"])  # renders, within the sandbox
            if language != "en":
                assert own["subject"] != english["subject"] and own["html"] != english["html"]
    # anything but an unedited default is left as written
    edited = DEFAULT_TEMPLATES["soft_decline"]["html"] + " "
    assert localized("Hi", edited, "", "fr") == ("Hi", edited, "")
