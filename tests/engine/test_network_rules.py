"""Card networks by BIN and the card-network retry rules (contract 13) as hard limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revtain.engine.card_networks import network_for_bin
from revtain.engine.network_rules import NetworkLimits, PastAttempt, verdict

NOW = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)

# The rules restated independently of the module, for the oracle below.
CATEGORY_1 = {"03", "04", "07", "12", "15", "41", "43", "46", "57", "62", "78", "93", "R0", "R1", "R3"}
NEVER_ADVICE = {"01", "03", "21", "do_not_try_again"}
BLOCK_CODES = {"fraudulent", "fraud_suspected", "lost_card", "stolen_card", "pickup_card", "restricted_card",
               "authentication_required"}
ADVICE_FLOOR = {"24": timedelta(hours=1), "25": timedelta(hours=24), "26": timedelta(days=2),
                "27": timedelta(days=4), "28": timedelta(days=6), "29": timedelta(days=8),
                "30": timedelta(days=10)}
DAY30, DAY1 = timedelta(days=30), timedelta(hours=24)


def has_never_code(history) -> bool:
    return any(a.network_code in CATEGORY_1 or a.advice_code in NEVER_ADVICE or a.decline_code in BLOCK_CODES
               for a in history)


def attempt_allowed(network: str, history, t: datetime) -> bool:
    """Would one more attempt at ``t`` break no rule? Windows recounted by brute force."""
    if has_never_code(history):
        return False
    if any(a.advice_code in ADVICE_FLOOR and t < a.at + ADVICE_FLOOR[a.advice_code] for a in history):
        return False
    counted = [a.at for a in history if a.outcome != "error"]

    def within(window: timedelta) -> int:
        return sum(1 for at in counted if at > t - window)

    visa_ok = within(DAY30) < 20
    mastercard_ok = within(DAY1) < 10 and within(DAY30) < 35
    if network == "mastercard":
        return mastercard_ok
    if network in ("visa", "amex", "discover", "jcb"):
        return visa_ok
    return visa_ok and mastercard_ok


def declined(at: datetime, **codes) -> PastAttempt:
    return PastAttempt(at=at, outcome="declined", **codes)


# --- BIN -> network ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("bin_prefix", "network"),
    [
        ("4242424242424242", "visa"), ("4", "visa"), ("400000", "visa"),
        ("510000", "mastercard"), ("555555", "mastercard"), ("2221", "mastercard"), ("2720 99", "mastercard"),
        ("222099", "unknown"), ("272100", "unknown"), ("56", "unknown"), ("50", "unknown"),
        ("340000", "amex"), ("378282", "amex"), ("35", "unknown"),
        ("6011000", "discover"), ("644", "discover"), ("649999", "discover"), ("650000", "discover"),
        ("643", "unknown"), ("6012", "unknown"),
        ("3528", "jcb"), ("358999", "jcb"), ("3527", "unknown"), ("3590", "unknown"),
        ("2", "unknown"), ("", "unknown"), (None, "unknown"), ("abcd", "unknown"), ("٤٢٤٢", "unknown"),
    ],
)
def test_network_for_bin(bin_prefix, network):
    assert network_for_bin(bin_prefix) == network


# --- never-again codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [*sorted(CATEGORY_1), "r0", "3", " 04 "])
def test_visa_category_1_is_never_again(code):
    history = (declined(NOW - timedelta(days=300), network_code=code),)
    v = verdict("visa", history, NOW)
    assert v.never and not v.allowed_now and v.not_before is None
    assert v.reason.startswith("visa_category_1:")


@pytest.mark.parametrize("advice", ["01", "1", "03", "21", "do_not_try_again", "DO_NOT_TRY_AGAIN"])
def test_never_advice_codes(advice):
    v = verdict("mastercard", (declined(NOW - timedelta(days=60), advice_code=advice),), NOW)
    assert v.never and v.reason.startswith("advice_code:")


@pytest.mark.parametrize("code", [*sorted(BLOCK_CODES), " Fraudulent "])
def test_catalogue_block_codes_are_never_again(code):
    v = verdict("amex", (declined(NOW - timedelta(days=1), decline_code=code),), NOW)
    assert v.never and v.reason == f"decline_code:{code.strip().lower()}"


def test_codes_are_honoured_on_any_network():
    history = (declined(NOW - timedelta(days=2), network_code="43"),)
    assert all(verdict(n, history, NOW).never for n in ("visa", "mastercard", "amex", "jcb", "unknown"))


@pytest.mark.parametrize(
    "codes",
    [{"network_code": "05"}, {"network_code": "51"}, {"advice_code": "02"}, {"decline_code": "do_not_honor"},
     {"decline_code": "insufficient_funds", "network_code": "51"}, {"decline_code": "something_new"}, {}],
)
def test_retryable_codes_allow(codes):
    v = verdict("visa", (declined(NOW - timedelta(hours=2), **codes),), NOW)
    assert v.allowed_now and not v.never and v.not_before == NOW and v.reason == "allowed"


def test_mac_03_can_be_configured_as_a_30_day_wait():
    limits = NetworkLimits.from_dict({
        "never_advice_codes": ["01", "do_not_try_again"],
        "advice_retry_after_hours": {**{c: h.total_seconds() / 3600 for c, h in ADVICE_FLOOR.items()},
                                     "03": 720, "21": 720},
    })
    at = NOW - timedelta(days=3)
    v = verdict("mastercard", (declined(at, advice_code="03"),), NOW, limits)
    assert not v.never and v.not_before == at + timedelta(days=30) and v.reason == "advice_code:03"


# --- advice floors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("advice", "delay"), sorted(ADVICE_FLOOR.items()))
def test_advice_code_floors(advice, delay):
    at = NOW - timedelta(minutes=1)
    history = (declined(at, advice_code=advice),)
    v = verdict("mastercard", history, NOW)
    assert not v.allowed_now and not v.never
    assert v.not_before == at + delay and v.reason == f"advice_code:{advice}"
    assert not verdict("mastercard", history, at + delay - US).allowed_now
    assert verdict("mastercard", history, at + delay).allowed_now


def test_the_rule_that_binds_last_decides():
    # Nine Mastercard attempts in the last 2 hours plus a tenth with MAC 25 (retry after 24 h):
    # the 24-hour window frees up 22 h after the oldest, the advice floor 24 h after the newest.
    start = NOW - timedelta(hours=2)
    history = tuple(declined(start + timedelta(minutes=10 * i)) for i in range(9))
    history += (declined(NOW - timedelta(minutes=1), advice_code="25"),)
    v = verdict("mastercard", history, NOW)
    assert v.reason == "advice_code:25" and v.not_before == NOW - timedelta(minutes=1) + timedelta(hours=24)
    # MAC 24 (1 hour) instead: the window binds.
    history = (*history[:9], declined(NOW - timedelta(minutes=1), advice_code="24"))
    v = verdict("mastercard", history, NOW)
    assert v.reason == "mastercard_24h_limit" and v.not_before == start + timedelta(hours=24)


# --- rolling budgets --------------------------------------------------------------------------------

def test_visa_20_in_30_days_frees_when_the_oldest_leaves():
    first = NOW - timedelta(days=19, hours=1)
    history = tuple(declined(first + timedelta(days=i)) for i in range(20))
    v = verdict("visa", history, NOW)
    assert not v.allowed_now and v.reason == "visa_30d_limit" and v.not_before == first + DAY30
    assert not verdict("visa", history, first + DAY30 - US).allowed_now
    assert verdict("visa", history, first + DAY30).allowed_now
    assert verdict("visa", history[1:], NOW).allowed_now


def test_visa_over_the_limit_waits_for_enough_to_leave():
    first = NOW - timedelta(days=20)
    history = tuple(declined(first + timedelta(hours=12 * i)) for i in range(22))  # 22 > 20
    v = verdict("visa", history, NOW)
    assert v.not_before == history[2].at + DAY30  # three must leave so that 19 remain


def test_errors_are_not_counted_but_unknown_outcomes_are():
    first = NOW - timedelta(days=10)
    declines = tuple(declined(first + timedelta(hours=i)) for i in range(19))
    errors = tuple(PastAttempt(NOW - timedelta(minutes=i + 1), "error") for i in range(5))
    assert verdict("visa", declines + errors, NOW).allowed_now
    lost = (PastAttempt(NOW - timedelta(minutes=1), "unknown"),)
    assert not verdict("visa", declines + lost, NOW).allowed_now
    approved = (PastAttempt(NOW - timedelta(minutes=1), "approved"),)
    assert not verdict("visa", declines + approved, NOW).allowed_now


def test_visa_limit_is_configurable():
    first = NOW - timedelta(days=10)
    history = tuple(declined(first + timedelta(hours=i)) for i in range(15))
    assert verdict("visa", history, NOW).allowed_now
    assert not verdict("visa", history, NOW, NetworkLimits.from_dict({"visa_max_attempts": 15})).allowed_now


def test_visa_counts_merchant_and_customer_initiated_attempts_apart():
    first = NOW - timedelta(days=10)
    merchant = tuple(declined(first + timedelta(hours=i)) for i in range(20))
    customer = tuple(declined(first + timedelta(hours=i), initiator="customer") for i in range(19))
    history = merchant + customer
    v = verdict("visa", history, NOW)
    assert not v.allowed_now and v.reason == "visa_30d_limit"
    assert verdict("visa", history, NOW, initiator="customer").allowed_now
    assert not verdict("visa", history + customer[:1], NOW, initiator="customer").allowed_now
    limits = NetworkLimits.from_dict({"visa_customer_max_attempts": 19})
    assert not verdict("visa", history, NOW, limits, initiator="customer").allowed_now
    # Mastercard counts every attempt, whoever started it.
    assert verdict("mastercard", history, NOW).reason == "mastercard_30d_limit"


def test_mastercard_10_in_24_hours():
    first = NOW - timedelta(hours=23)
    history = tuple(declined(first + timedelta(minutes=30 * i)) for i in range(10))
    v = verdict("mastercard", history, NOW)
    assert not v.allowed_now and v.reason == "mastercard_24h_limit" and v.not_before == first + DAY1
    assert not verdict("mastercard", history, first + DAY1 - US).allowed_now
    assert verdict("mastercard", history, first + DAY1).allowed_now
    # The Visa budget (applied to Visa, Amex, Discover, JCB) has no 24-hour cap; unknown gets both.
    assert verdict("visa", history, NOW).allowed_now
    assert verdict("discover", history, NOW).allowed_now
    assert verdict("unknown", history, NOW).reason == "mastercard_24h_limit"


def test_mastercard_35_in_30_days():
    first = NOW - timedelta(hours=20 * 34 + 1)
    history = tuple(declined(first + timedelta(hours=20 * i)) for i in range(35))
    v = verdict("mastercard", history, NOW)
    assert v.reason == "mastercard_30d_limit" and v.not_before == first + DAY30
    assert verdict("mastercard", history, first + DAY30).allowed_now
    assert verdict("mastercard", history[1:], NOW).allowed_now
    assert verdict("amex", history, NOW).reason == "visa_30d_limit"


def test_attempts_recorded_in_the_future_are_counted():
    history = tuple(declined(NOW + timedelta(minutes=i)) for i in range(10))
    v = verdict("mastercard", history, NOW)
    assert v.not_before == NOW + DAY1


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        PastAttempt(datetime(2026, 1, 1), "declined")
    with pytest.raises(ValueError, match="timezone-aware"):
        verdict("visa", (), datetime(2026, 1, 1))


def test_limits_from_config():
    assert NetworkLimits.from_dict({}) == NetworkLimits() == NetworkLimits.from_dict(None)
    assert NetworkLimits.from_dict(NetworkLimits().as_dict()) == NetworkLimits()
    limits = NetworkLimits.from_dict({"mastercard_max_attempts_24h": "8", "never_network_codes": ["r0", "4"]})
    assert limits.mastercard_max_attempts_24h == 8 and limits.never_network_codes == {"R0", "04"}
    with pytest.raises(ValueError, match="unknown network limit"):
        NetworkLimits.from_dict({"visa_max_atempts": 20})
    with pytest.raises(ValueError):
        NetworkLimits(visa_max_attempts=0)


# --- property: the verdict agrees with a brute-force recount, and not_before is exact --------------

NETWORKS = ["visa", "mastercard", "amex", "discover", "jcb", "unknown"]
NETWORK_CODES = [None] * 6 + ["05", "51", "91", "N7", "04", "R1", "43"]
ADVICE_CODES = [None] * 6 + ["02", "24", "25", "26", "27", "28", "29", "30", "01", "03", "21", "99"]
DECLINE_CODES = [None] * 6 + ["do_not_honor", "insufficient_funds", "gateway_timeout", "lost_card"]
OUTCOMES = ["declined", "declined", "declined", "error", "unknown", "approved"]


@st.composite
def past_attempts(draw, before: datetime, span: timedelta):
    outcome = draw(st.sampled_from(OUTCOMES))
    codes = {}
    if outcome == "declined":
        codes = {"network_code": draw(st.sampled_from(NETWORK_CODES)),
                 "advice_code": draw(st.sampled_from(ADVICE_CODES)),
                 "decline_code": draw(st.sampled_from(DECLINE_CODES))}
    offset = draw(st.integers(0, int(span.total_seconds())))
    return PastAttempt(before - timedelta(seconds=offset), outcome, **codes)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    network=st.sampled_from(NETWORKS),
    spread=st.lists(past_attempts(NOW, timedelta(days=40)), max_size=40),
    burst=st.lists(past_attempts(NOW, timedelta(hours=30)), max_size=14),
)
def test_verdict_matches_a_recount(network, spread, burst):
    history = tuple(spread + burst)
    v = verdict(network, history, NOW)
    if has_never_code(history):
        assert v.never and not v.allowed_now and v.not_before is None
        return
    assert not v.never and v.not_before is not None and v.not_before >= NOW
    assert v.allowed_now == attempt_allowed(network, history, NOW) == (v.not_before == NOW)
    assert attempt_allowed(network, history, v.not_before)
    if v.not_before > NOW:
        assert not attempt_allowed(network, history, v.not_before - US)
