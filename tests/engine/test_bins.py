"""The BIN table: what a card's leading digits say, and that the shipped table is the pinned data's."""

from __future__ import annotations

import hashlib
from importlib import metadata, resources

import pytest

from revtain.engine import bins


@pytest.mark.parametrize(
    ("prefix", "network", "card_type", "issuer", "country"),
    [
        ("414720", "visa", "credit", "CHASE BANK USA, N.A.", "US"),
        ("41472012", "visa", "credit", "CHASE BANK USA, N.A.", "US"),  # 8 digits: its first six
        ("457173", "visa", "debit", "PBS INTERNATIONAL A/S", "DK"),
        ("378282", "amex", "credit", "AMERICAN EXPRESS COMPANY", "US"),
        ("520082", "mastercard", "debit", "MBNA AMERICA BANK, N.A.", "US"),
        ("545454", "mastercard", "unknown", "BANK HANDLOWY W WARSZAWIE, S.A.", "PL"),
        # Co-branded Elo/Visa: the IIN ranges say Visa, and Visa's rules apply.
        ("401178", "visa", "credit", None, "BR"),
        # A network the rules do not know is "unknown"; the data set's scheme is kept beside it.
        ("622126", "unknown", "credit", None, "CN"),
    ],
)
def test_known_bins(prefix, network, card_type, issuer, country):
    info = bins.lookup(prefix)
    assert (info.prefix, info.card_network, info.card_type, info.issuer_name, info.issuer_country) == (
        prefix,
        network,
        card_type,
        issuer,
        country,
    )


def test_a_short_prefix_answers_only_what_every_bin_under_it_agrees_on():
    info = bins.lookup("4147")
    assert info.card_network == "visa"
    assert info.issuer_name is None  # many issuers start with 4147
    assert bins.lookup("6011").issuer_country == "US"  # every known 6011xx card is American


def test_unknown_prefixes_are_unknown_not_errors():
    assert bins.lookup("9999") == bins.BinInfo("9999", "unknown", "unknown", None, None, None)
    # Mastercard's 2-series by its IIN range, though the data set has no BIN there.
    assert bins.lookup("2223").card_network == "mastercard"


@pytest.mark.parametrize(
    "prefix", ["", "123", "123456789", "41x1", "\uff14\uff12\uff14\uff12", " 4242 x", "-4242"]
)
def test_a_prefix_must_be_4_to_8_ascii_digits(prefix):
    with pytest.raises(ValueError, match="4 to 8 digits"):
        bins.lookup(prefix)


def test_issuing_country_is_none_for_anything_that_is_not_a_known_bin():
    assert bins.issuing_country("457173") == "DK"
    assert bins.issuing_country("4571731234") == "DK"  # longer input: its first eight digits
    assert bins.issuing_country(None) is None
    assert bins.issuing_country("12") is None
    assert bins.issuing_country("9999") is None


def test_card_types_are_normalised():
    assert [
        bins.normalise_card_type(t) for t in ("CREDIT", "debit", "CHARGE CARD", "PREPAID", None, "x")
    ] == [
        "credit",
        "debit",
        "credit",
        "prepaid",
        "unknown",
        "unknown",
    ]


def test_the_shipped_table_is_built_from_the_pinned_package():
    """Raising the pin without running scripts/build_bin_data.py fails here."""
    source = bins.source()
    raw = resources.files("creditcard_identifier").joinpath("cards-detailed.json").read_bytes()
    assert source["package"] == "creditcard-identifier"
    assert source["version"] == metadata.version("creditcard-identifier")
    assert source["sha256"] == hashlib.sha256(raw).hexdigest()
    assert "MIT" in source["licence"]
    assert int(source["bins"]) > 200_000
