"""The decline catalogue per source: Stripe, Braintree, ISO 8583 / Visa, Mastercard advice codes, the
adapters' own codes, and how a gateway result (decline + network + advice code) is classified."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import braintree
import pytest

from revtain.engine import declines
from revtain.engine.declines import (
    advice,
    advice_entries,
    all_entries,
    canonical_codes,
    classify,
    classify_result,
    lookup,
    variants,
)
from revtain.engine.network_rules import (
    ADVICE_RETRY_AFTER_HOURS,
    NEVER_ADVICE_CODES,
    VISA_CATEGORY_1,
    PastAttempt,
    verdict,
)
from revtain.engine.retry_plan import FUNDS_CODES

NOW = datetime(2026, 3, 17, 12, tzinfo=UTC)
ADAPTER_TECHNICAL = [
    "rate_limited", "gateway_auth_error", "gateway_permission_error", "invalid_request", "validation_error",
    "currency_not_supported", "idempotency_conflict", "gateway_timeout", "gateway_error",
]
PUBLIC_GATEWAYS = ["stripe", "braintree", "adyen", "checkout", "authnet", "dlocal", "worldpay", "razorpay",
                   "paystack"]


def data() -> dict:
    return json.loads(resources.files("revtain.engine").joinpath("data/declines.json").read_text())


def kind(entry) -> tuple[str, str, str, str]:
    return entry.canonical_code, entry.category, entry.handling, entry.recommended_action


# --- the data file ------------------------------------------------------------------------------------


def test_the_data_file_is_versioned_and_consistent():
    raw = data()
    assert raw["version"] >= 2 and declines.version() == raw["version"]
    codes = raw["codes"]
    for name, entry in codes.items():
        assert entry["category"] in declines.CATEGORIES, name
        assert entry["handling"] in declines.HANDLINGS, name
        assert entry["action"] in raw["actions"], name
        assert entry["family"] in raw["families"], name
        assert entry["plainEnglish"], name
    for gateway, spec in raw["gateways"].items():
        for code, entry in spec.get("codes", {}).items():
            assert entry["canonical"] in codes, (gateway, code)
            assert entry["text"], (gateway, code)


def test_the_existing_canonical_codes_keep_their_behaviour():
    """Version 1 of the catalogue, restated: classify() answers exactly as it did for these."""
    v1 = {
        "insufficient_funds": ("soft", "queue", "retry_later"),
        "expired_card": ("hard", "queue", "request_card_update"),
        "do_not_honor": ("soft", "attempt", "retry_later"),
        "call_issuer": ("soft", "attempt", "retry_later"),
        "try_again_later": ("soft", "attempt", "retry_later"),
        "card_declined": ("soft", "attempt", "retry_later"),
        "generic_decline": ("soft", "attempt", "retry_later"),
        "gateway_timeout": ("technical", "attempt", "monitor"),
        "gateway_error": ("technical", "attempt", "monitor"),
        "authentication_required": ("auth_required", "block", "request_card_update"),
        "fraudulent": ("fraud", "block", "manual_review"),
        "fraud_suspected": ("fraud", "block", "manual_review"),
        "lost_card": ("fraud", "block", "manual_review"),
        "stolen_card": ("fraud", "block", "manual_review"),
        "pickup_card": ("fraud", "block", "manual_review"),
        "restricted_card": ("fraud", "block", "manual_review"),
    }
    for code, (category, handling, action) in v1.items():
        decline = classify(code)
        assert (decline.code, decline.category, decline.handling, decline.recommended_action) == (
            code, category, handling, action,
        )
        assert decline.reason == declines.action_reason(action)
    assert classify("insufficient_funds").queued_message == (
        "Insufficient funds \u2014 queued for smart-time retry."
    )
    assert classify("expired_card").queued_message == "Expired card \u2014 token refresh queued."
    assert classify("do_not_honor").queued_message == "Queued for smart-time retry."
    unknown = classify("Something_New ")
    assert (unknown.code, unknown.category, unknown.handling, unknown.recommended_action) == (
        "something_new", "unknown", "attempt", "monitor",
    )
    for nothing in (None, "", "   "):
        assert (classify(nothing).code, classify(nothing).handling, classify(nothing).recommended_action) == (
            None, "attempt", "retry_later",
        )


def test_rules_every_canonical_code_follows():
    for code in canonical_codes():
        d = classify(code)
        if d.category == "fraud":
            assert (d.handling, d.recommended_action) == ("block", "manual_review"), code
        if d.category == "technical":
            assert (d.handling, d.recommended_action) == ("attempt", "monitor"), code
        if d.category == "auth_required":
            assert d.handling == "block", code
        if d.category == "soft":
            assert d.handling != "block" and d.recommended_action == "retry_later", code
        if d.handling == "block":
            assert d.recommended_action in ("request_card_update", "manual_review"), code
        if d.handling == "queue":
            assert d.queued_message, code


def test_the_funds_family_is_what_the_retry_planner_treats_as_funds():
    funds = {code for code in canonical_codes() if classify(code).family == "funds"}
    assert funds == FUNDS_CODES


# --- Stripe -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("insufficient_funds", ("insufficient_funds", "soft", "queue", "retry_later")),
        ("card_velocity_exceeded", ("card_velocity_exceeded", "soft", "queue", "retry_later")),
        ("withdrawal_count_limit_exceeded",
         ("withdrawal_count_limit_exceeded", "soft", "queue", "retry_later")),
        ("do_not_honor", ("do_not_honor", "soft", "attempt", "retry_later")),
        ("generic_decline", ("generic_decline", "soft", "attempt", "retry_later")),
        ("no_action_taken", ("generic_decline", "soft", "attempt", "retry_later")),
        ("expired_card", ("expired_card", "hard", "queue", "request_card_update")),
        ("incorrect_cvc", ("incorrect_cvc", "hard", "attempt", "request_card_update")),
        ("invalid_cvc", ("incorrect_cvc", "hard", "attempt", "request_card_update")),
        ("incorrect_number", ("incorrect_number", "hard", "attempt", "request_card_update")),
        ("invalid_number", ("incorrect_number", "hard", "attempt", "request_card_update")),
        ("invalid_expiry_year", ("invalid_expiry_date", "hard", "attempt", "request_card_update")),
        ("incorrect_zip", ("address_verification_failed", "hard", "attempt", "request_card_update")),
        ("invalid_account", ("invalid_account", "hard", "block", "request_card_update")),
        ("lost_card", ("lost_card", "fraud", "block", "manual_review")),
        ("stolen_card", ("stolen_card", "fraud", "block", "manual_review")),
        ("pickup_card", ("pickup_card", "fraud", "block", "manual_review")),
        ("restricted_card", ("restricted_card", "fraud", "block", "manual_review")),
        ("fraudulent", ("fraudulent", "fraud", "block", "manual_review")),
        ("merchant_blacklist", ("merchant_blacklist", "fraud", "block", "manual_review")),
        ("security_violation", ("security_violation", "fraud", "block", "manual_review")),
        ("transaction_not_allowed", ("transaction_not_allowed", "hard", "block", "request_card_update")),
        ("not_permitted", ("transaction_not_allowed", "hard", "block", "request_card_update")),
        ("try_again_later", ("try_again_later", "soft", "attempt", "retry_later")),
        ("approve_with_id", ("try_again_later", "soft", "attempt", "retry_later")),
        ("issuer_not_available", ("issuer_not_available", "soft", "attempt", "retry_later")),
        ("reenter_transaction", ("reenter_transaction", "soft", "attempt", "retry_later")),
        ("processing_error", ("processing_error", "technical", "attempt", "monitor")),
        ("call_issuer", ("call_issuer", "soft", "attempt", "retry_later")),
        ("card_not_supported", ("card_not_supported", "hard", "block", "request_card_update")),
        ("currency_not_supported", ("currency_not_supported", "technical", "attempt", "monitor")),
        ("authentication_required",
         ("authentication_required", "auth_required", "block", "request_card_update")),
        ("offline_pin_required", ("pin_required", "auth_required", "block", "request_card_update")),
        ("new_account_information_available",
         ("new_account_information_available", "hard", "block", "request_card_update")),
        ("do_not_try_again", ("do_not_try_again", "hard", "block", "request_card_update")),
        ("revocation_of_authorization",
         ("revocation_of_authorization", "hard", "block", "request_card_update")),
        ("revocation_of_all_authorizations",
         ("revocation_of_all_authorizations", "hard", "block", "request_card_update")),
        ("stop_payment_order", ("stop_payment_order", "hard", "block", "request_card_update")),
        ("testmode_decline", ("testmode_decline", "hard", "block", "request_card_update")),
        ("duplicate_transaction", ("duplicate_transaction", "technical", "attempt", "monitor")),
        ("invalid_amount", ("invalid_amount", "technical", "attempt", "monitor")),
        # error `code` values
        ("card_declined", ("card_declined", "soft", "attempt", "retry_later")),
        ("card_decline_rate_limit_exceeded", ("decline_rate_limit_exceeded", "soft", "queue", "retry_later")),
        # the adapter's own
        ("intent_requires_confirmation", ("payment_not_attempted", "technical", "attempt", "monitor")),
        ("intent_requires_capture", ("payment_not_attempted", "technical", "attempt", "monitor")),
        (" Insufficient_Funds ", ("insufficient_funds", "soft", "queue", "retry_later")),
    ],
)
def test_stripe(raw, expected):
    entry = lookup("stripe", raw)
    assert kind(entry) == expected
    assert entry.gateway == "stripe" and entry.gateway_label == "Stripe" and entry.known


@pytest.mark.parametrize(
    ("advice_code", "canonical", "never"),
    [("try_again_later", "try_again_later", False), ("do_not_try_again", "do_not_try_again", True),
     ("confirm_card_data", "card_data_update_required", False),
     ("Do_Not_Try_Again", "do_not_try_again", True)],
)
def test_stripe_advice_codes(advice_code, canonical, never):
    entry = advice(advice_code)
    assert entry is not None and entry.source == "stripe"
    assert (entry.canonical_code, entry.never_retry) == (canonical, never)


# --- Braintree ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2000", ("do_not_honor", "soft", "attempt", "retry_later")),
        ("2001", ("insufficient_funds", "soft", "queue", "retry_later")),
        ("2002", ("card_velocity_exceeded", "soft", "queue", "retry_later")),
        ("2003", ("withdrawal_count_limit_exceeded", "soft", "queue", "retry_later")),
        ("2004", ("expired_card", "hard", "queue", "request_card_update")),
        ("2005", ("incorrect_number", "hard", "attempt", "request_card_update")),
        ("2010", ("incorrect_cvc", "hard", "attempt", "request_card_update")),  # Card Issuer Declined CVV
        ("2012", ("lost_card", "fraud", "block", "manual_review")),
        ("2013", ("stolen_card", "fraud", "block", "manual_review")),
        ("2014", ("fraud_suspected", "fraud", "block", "manual_review")),
        ("2015", ("transaction_not_allowed", "hard", "block", "request_card_update")),
        ("2019", ("invalid_transaction", "hard", "block", "request_card_update")),
        ("2022", ("new_account_information_available", "hard", "block", "request_card_update")),
        ("2038", ("generic_decline", "soft", "attempt", "retry_later")),
        ("2043", ("do_not_try_again", "hard", "block", "request_card_update")),
        ("2044", ("call_issuer", "soft", "attempt", "retry_later")),
        ("2046", ("generic_decline", "soft", "attempt", "retry_later")),
        ("2047", ("pickup_card", "fraud", "block", "manual_review")),
        ("2057", ("restricted_card", "fraud", "block", "manual_review")),
        ("2099", ("authentication_required", "auth_required", "block", "request_card_update")),
        ("2108", ("invalid_account", "hard", "block", "request_card_update")),
        ("3000", ("processing_error", "technical", "attempt", "monitor")),
        ("gateway_rejected:fraud", ("fraud_suspected", "fraud", "block", "manual_review")),
        ("gateway_rejected:risk_threshold", ("fraud_suspected", "fraud", "block", "manual_review")),
        ("gateway_rejected:three_d_secure",
         ("authentication_required", "auth_required", "block", "request_card_update")),
        ("gateway_rejected:cvv", ("incorrect_cvc", "hard", "attempt", "request_card_update")),
        ("gateway_rejected:avs", ("address_verification_failed", "hard", "attempt", "request_card_update")),
        ("gateway_rejected:duplicate", ("duplicate_transaction", "technical", "attempt", "monitor")),
        ("gateway_rejected:application_incomplete",
         ("merchant_configuration_error", "technical", "attempt", "monitor")),
        ("processor_declined", ("generic_decline", "soft", "attempt", "retry_later")),
        ("transaction_failed", ("processing_error", "technical", "attempt", "monitor")),
        ("transaction_processor_declined", ("payment_not_attempted", "technical", "attempt", "monitor")),
    ],
)
def test_braintree(raw, expected):
    entry = lookup("braintree", raw)
    assert kind(entry) == expected
    assert entry.gateway_label == "Braintree"


def test_braintree_covers_every_processor_response_code():
    table = data()["gateways"]["braintree"]["codes"]
    assert [str(c) for c in [*range(2000, 2109), 3000]] == [c for c in table if c.isdigit()]
    assert lookup("braintree", "2001").description == "Insufficient Funds"
    assert lookup("braintree", "2010").description == "Card Issuer Declined CVV"


def test_braintree_covers_every_gateway_rejection_reason_of_the_sdk():
    reasons = braintree.Transaction.GatewayRejectionReason
    for name in dir(reasons):
        if not name.startswith("_"):
            assert lookup("braintree", f"gateway_rejected:{getattr(reasons, name)}").match == "table", name


# --- the adapters' technical codes ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ADAPTER_TECHNICAL)
@pytest.mark.parametrize("gateway", ["stripe", "braintree", "adyen", "dlocal", "test"])
def test_technical_codes_never_block(gateway, code):
    assert kind(lookup(gateway, code))[1:] == ("technical", "attempt", "monitor")
    assert classify(code).handling == "attempt"
    assert classify_result(gateway, code, None, None).handling == "attempt"


# --- ISO 8583 / Visa and the Mastercard advice codes ------------------------------------------------------


@pytest.mark.parametrize("code", sorted(VISA_CATEGORY_1))
def test_every_visa_category_1_code_is_never_retried(code):
    entry = lookup("network", code)
    assert entry.known and entry.handling == "block", code
    assert lookup("iso", code.lower()).handling == "block"
    # whatever the gateway said about it, a retry-allowing decline code is overridden
    for decline_code in ("do_not_honor", "insufficient_funds", None, "something_new"):
        result = classify_result("stripe", decline_code, code, None)
        assert result.handling == "block", (code, decline_code)
    assert classify_result("stripe", "do_not_honor", code, None).override == f"visa_category_1:{code}"
    # and the network rules agree
    assert verdict("visa", (PastAttempt(NOW - timedelta(days=1), "declined", network_code=code),), NOW).never


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("05", ("do_not_honor", "soft", "attempt", "retry_later")),
        ("5", ("do_not_honor", "soft", "attempt", "retry_later")),
        ("51", ("insufficient_funds", "soft", "queue", "retry_later")),
        ("54", ("expired_card", "hard", "queue", "request_card_update")),
        ("14", ("incorrect_number", "hard", "attempt", "request_card_update")),
        ("41", ("lost_card", "fraud", "block", "manual_review")),
        ("43", ("stolen_card", "fraud", "block", "manual_review")),
        ("04", ("pickup_card", "fraud", "block", "manual_review")),
        ("07", ("pickup_card", "fraud", "block", "manual_review")),
        ("57", ("transaction_not_allowed", "hard", "block", "request_card_update")),
        ("62", ("restricted_card", "fraud", "block", "manual_review")),
        ("46", ("invalid_account", "hard", "block", "request_card_update")),
        ("59", ("fraud_suspected", "fraud", "block", "manual_review")),
        ("61", ("card_velocity_exceeded", "soft", "queue", "retry_later")),
        ("65", ("withdrawal_count_limit_exceeded", "soft", "queue", "retry_later")),
        ("91", ("issuer_not_available", "soft", "attempt", "retry_later")),
        ("96", ("processing_error", "technical", "attempt", "monitor")),
        ("93", ("violation_of_law", "hard", "block", "manual_review")),
        ("N7", ("incorrect_cvc", "hard", "attempt", "request_card_update")),
        ("1A", ("authentication_required", "auth_required", "block", "request_card_update")),
        ("r0", ("stop_payment_order", "hard", "block", "request_card_update")),
        ("R1", ("revocation_of_authorization", "hard", "block", "request_card_update")),
        ("R3", ("revocation_of_all_authorizations", "hard", "block", "request_card_update")),
    ],
)
def test_iso_response_codes(code, expected):
    assert kind(lookup("network", code)) == expected
    assert kind(lookup("worldpay", code)) == expected  # Worldpay reports ISO 8583 codes


def test_approved_is_not_a_decline():
    assert lookup("network", "00").canonical_code == "approved"
    assert lookup("network", "00").family == "approved"
    assert classify_result("stripe", "do_not_honor", "00", None).code == "do_not_honor"
    assert classify_result("stripe", "insufficient_funds", "00", None).handling == "queue"


@pytest.mark.parametrize(
    ("code", "never", "hours"),
    [("01", True, None), ("1", True, None), ("02", False, None), ("03", True, None), ("21", True, None),
     ("24", False, 1), ("25", False, 24), ("26", False, 48), ("27", False, 96), ("28", False, 144),
     ("29", False, 192), ("30", False, 240)],
)
def test_mastercard_merchant_advice_codes(code, never, hours):
    entry = advice(code)
    assert entry is not None and entry.source == "mastercard"
    assert (entry.never_retry, entry.retry_after_hours) == (never, hours)


def test_the_advice_table_agrees_with_the_network_rules():
    never = {e.code for e in advice_entries() if e.never_retry}
    assert never == NEVER_ADVICE_CODES
    floors = {e.code: float(e.retry_after_hours) for e in advice_entries() if e.retry_after_hours is not None}
    assert floors == dict(ADVICE_RETRY_AFTER_HOURS)
    assert advice("99") is None and advice(None) is None and advice(" ") is None


# --- classify_result: the adapters' results ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "handling", "override"),
    [
        # never-retry advice codes override a retryable decline
        (("stripe", "insufficient_funds", None, "03"), "do_not_try_again", "block", "advice_code:03"),
        (("braintree", "2001", "51", "01"), "new_account_information_available", "block", "advice_code:01"),
        (("braintree", "2000", None, "21"), "revocation_of_authorization", "block", "advice_code:21"),
        (("stripe", "generic_decline", None, "do_not_try_again"), "do_not_try_again", "block",
         "advice_code:do_not_try_again"),
        # other advice codes do not
        (("braintree", "2001", "51", "24"), "insufficient_funds", "queue", None),
        (("stripe", "do_not_honor", None, "try_again_later"), "do_not_honor", "attempt", None),
        # ... but fill in when nothing else is known
        (("stripe", "brand_new_code", None, "try_again_later"), "try_again_later", "attempt", None),
        (("stripe", None, None, "confirm_card_data"), "card_data_update_required", "attempt", None),
        # the most specific mapping: a network code refines a generic decline code ...
        (("stripe", "do_not_honor", "51", None), "insufficient_funds", "queue", None),
        (("stripe", "generic_decline", "54", None), "expired_card", "queue", None),
        (("braintree", "2046", "61", None), "card_velocity_exceeded", "queue", None),
        (("stripe", "brand_new_code", "05", None), "do_not_honor", "attempt", None),
        (("stripe", None, "51", None), "insufficient_funds", "queue", None),
        # ... but not a specific one
        (("stripe", "insufficient_funds", "05", None), "insufficient_funds", "queue", None),
        (("stripe", "expired_card", "14", None), "expired_card", "queue", None),
        # a blocking network code overrides whatever was said
        (("stripe", "insufficient_funds", "43", None), "stolen_card", "block", "visa_category_1:43"),
        (("braintree", "2001", "59", None), "fraud_suspected", "block", "network_code:59"),
        # a blocking decline stays itself
        (("braintree", "2012", "51", "03"), "lost_card", "block", None),
        (("braintree", "gateway_rejected:fraud", None, None), "fraud_suspected", "block", None),
        # nothing at all: a generic attempt
        (("stripe", None, None, None), None, "attempt", None),
        (("stripe", "", " ", ""), None, "attempt", None),
        # unknown network and advice codes change nothing
        (("stripe", "do_not_honor", "XX", "99"), "do_not_honor", "attempt", None),
        # the test gateway and other table-less gateways: canonical names
        (("test", "insufficient_funds", None, None), "insufficient_funds", "queue", None),
        (("test", "lost_card", None, None), "lost_card", "block", None),
        (("razorpay", "whatever", None, None), "whatever", "attempt", None),
    ],
)
def test_classify_result(args, code, handling, override):
    result = classify_result(*args)
    assert (result.code, result.handling, result.override) == (code, handling, override)
    raw = args[1].strip().lower() if args[1] and args[1].strip() else None
    assert result.raw_code == raw


def test_classify_result_keeps_the_gateway_table_first():
    # ISO "51" means nothing to Braintree's table, "2001" nothing to Stripe's.
    assert classify_result("braintree", "51", None, None).code == "51"
    assert classify_result("stripe", "2001", None, None).category == "unknown"
    assert classify_result("adyen", "12", None, None).code == "insufficient_funds"
    assert classify_result("checkout", "20051", None, None).code == "insufficient_funds"
    assert classify_result("authnet", "27", None, None).code == "address_verification_failed"


# --- classify(): raw codes without their gateway ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "handling"),
    [
        ("2001", "insufficient_funds", "queue"),
        ("2004", "expired_card", "queue"),
        ("2012", "lost_card", "block"),
        ("gateway_rejected:fraud", "fraud_suspected", "block"),
        ("GATEWAY_REJECTED:THREE_D_SECURE", "authentication_required", "block"),
        ("invalid_number", "incorrect_number", "attempt"),
        ("do_not_try_again", "do_not_try_again", "block"),
        ("20051", "insufficient_funds", "queue"),
        ("intent_requires_confirmation", "payment_not_attempted", "attempt"),
        ("no_attempt", "no_attempt", "attempt"),
        # ISO, Adyen and Authorize.net numbers collide: not resolved without their gateway
        ("51", "51", "attempt"),
        ("12", "12", "attempt"),
    ],
)
def test_classify_resolves_raw_codes_that_name_their_gateway(raw, code, handling):
    decline = classify(raw)
    assert (decline.code, decline.handling) == (code, handling)
    assert decline.raw_code == raw.strip().lower()


def test_every_blocking_code_is_never_again_for_the_network_rules():
    for code in canonical_codes():
        history = (PastAttempt(NOW - timedelta(days=1), "declined", decline_code=code),)
        assert verdict("visa", history, NOW).never == (classify(code).handling == "block"), code


# --- lookup, variants and the dictionary ----------------------------------------------------------------


def test_lookup_fallbacks():
    assert kind(lookup("dlocal", "insufficient_funds"))[0] == "insufficient_funds"
    assert lookup("dlocal", "insufficient_funds").match == "canonical"
    assert lookup("paystack", "05").canonical_code == "unknown"  # no table: canonical names only
    unknown = lookup("razorpay", "  mystery ")
    assert (unknown.canonical_code, unknown.category, unknown.raw_code, unknown.match) == (
        "unknown", "unknown", "mystery", "unknown",
    )
    assert lookup("stripe", "").canonical_code == "unknown"
    assert lookup("stripe", None).canonical_code == "unknown"
    # a gateway's own text for a code
    assert lookup("adyen", "Not enough balance").canonical_code == "insufficient_funds"
    assert lookup("adyen", "not  enough balance").raw_code == "12"
    assert lookup("braintree", "Card Issuer Declined CVV").raw_code == "2010"
    assert lookup("checkout", "200n7").raw_code == "200N7"
    assert lookup("ISO", "r1").raw_code == "R1" and lookup("iso", "r1").gateway == "network"
    assert lookup("Stripe", "lost_card").gateway == "stripe"
    # a gateway that is not in the catalogue at all still resolves canonical names
    assert lookup("nope", "expired_card").canonical_code == "expired_card"


def test_gateways():
    names = declines.gateways()
    assert list(names)[: len(PUBLIC_GATEWAYS)] == PUBLIC_GATEWAYS
    assert "network" in names and "test" not in names
    assert names["checkout"] == "Checkout.com" and names["authnet"] == "Authorize.net"


def test_variants_are_the_same_canonical_code_on_other_gateways():
    found = variants("insufficient_funds", exclude_gateway="braintree")
    assert ("stripe", "insufficient_funds") in [(v.gateway, v.raw_code) for v in found]
    assert ("network", "51") in [(v.gateway, v.raw_code) for v in found]
    assert ("checkout", "20051") in [(v.gateway, v.raw_code) for v in found]
    assert all(v.gateway != "braintree" for v in found)
    assert ("braintree", "2001") in [(v.gateway, v.raw_code) for v in variants("insufficient_funds")]
    for v in variants("lost_card"):
        assert lookup(v.gateway, v.raw_code).canonical_code == "lost_card"
    assert variants("unknown") == () and variants("not_a_code") == ()


def test_the_dictionary():
    entries = all_entries()
    assert len(entries) > 150
    assert len({(e.gateway, e.raw_code) for e in entries}) == len(entries)
    for e in entries:
        assert e.known and e.description
        assert lookup(e.gateway, e.raw_code).canonical_code == e.canonical_code
    assert {e.gateway for e in entries} == {"stripe", "braintree", "adyen", "checkout", "authnet", "network"}
    braintree_entries = all_entries("braintree")
    assert braintree_entries and all(e.gateway == "braintree" for e in braintree_entries)
    worldpay = all_entries("worldpay")
    assert [e.raw_code for e in worldpay] == [e.raw_code for e in all_entries("network")]
    assert all(e.gateway == "worldpay" and e.gateway_label == "Worldpay" for e in worldpay)
    assert all_entries("dlocal") == ()
