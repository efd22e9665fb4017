"""Proof Mode's pure parts: the sticky assignment, and the statistics checked against computations
made independently of ours (Newcombe's published table, SciPy's chi-square test and Wilson
interval), never against a copy of our formulas."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2_contingency

from revtain.engine import proof_mode as pm

CLIENT = "da646dba-ce56-4483-ad0a-2a4fac54a5e2"


# -- assignment -----------------------------------------------------------------------------------


def test_the_customer_key_is_the_email_then_the_platform_customer_then_the_token():
    assert pm.customer_key(" Ann@Example.COM ", "cus_1", "pm_1") == "email:ann@example.com"
    assert pm.customer_key(None, "cus_1", "pm_1") == "customer:cus_1"
    assert pm.customer_key("", None, "pm_1") == "token:pm_1"


def test_the_same_customer_always_lands_in_the_same_group():
    key = pm.customer_key("ann@example.com", None, "pm_1")
    again = pm.customer_key("ANN@example.com", None, "pm_other_card")
    assert pm.fingerprint(CLIENT, key) == pm.fingerprint(CLIENT, again)
    groups = {pm.assign(pm.fingerprint(CLIENT, again), 10) for _ in range(5)}
    assert len(groups) == 1


@pytest.mark.parametrize("share", [1, 10, 25, 50])
def test_the_control_share_is_what_was_asked_for(share):
    rng = random.Random(share)
    n = 40_000
    control = sum(
        pm.assign(pm.fingerprint(CLIENT, f"email:c{rng.getrandbits(64)}@x.test"), share) == pm.CONTROL
        for _ in range(n)
    )
    # binomial standard deviation at n = 40 000 is at most 0.25 points: allow 4 of them
    assert abs(control / n - share / 100) < 0.01


def test_share_is_capped_at_fifty_and_a_larger_share_keeps_the_smaller_ones_control_group():
    fingerprints = [pm.fingerprint(CLIENT, f"token:pm_{i}") for i in range(5000)]
    at_10 = {f for f in fingerprints if pm.assign(f, 10) == pm.CONTROL}
    at_20 = {f for f in fingerprints if pm.assign(f, 20) == pm.CONTROL}
    assert at_10 < at_20
    assert [pm.assign(f, 90) for f in fingerprints] == [pm.assign(f, 50) for f in fingerprints]
    assert not pm.valid_share(0) and not pm.valid_share(51) and pm.valid_share(50)


def test_two_merchants_split_their_customers_independently():
    key = "email:shared@example.com"
    other = "0f1e2d3c-0000-4000-8000-000000000000"
    fingerprints = [
        (pm.fingerprint(CLIENT, f"{key}{i}"), pm.fingerprint(other, f"{key}{i}")) for i in range(2000)
    ]
    both = sum(pm.assign(a, 50) == pm.assign(b, 50) == pm.CONTROL for a, b in fingerprints)
    assert 400 < both < 600  # independent halves overlap on about a quarter


# -- statistics: Newcombe (1998), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Statistics in Medicine 17:873-890, Table II,
# method 10 (score interval, hybrid), 95 % limits as published to four decimals.

NEWCOMBE_METHOD_10 = [
    ((56, 70), (48, 80), (0.0524, 0.3339)),
    ((9, 10), (3, 10), (0.1705, 0.8090)),
    ((6, 7), (2, 7), (0.0582, 0.8062)),
    ((5, 56), (0, 29), (-0.0381, 0.1926)),
    ((0, 10), (0, 20), (-0.1611, 0.2775)),
    ((10, 10), (0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize(("a", "b", "expected"), NEWCOMBE_METHOD_10)
def test_the_uplift_interval_matches_newcombes_published_table(a, b, expected):
    low, high = pm.difference_interval(pm.Outcomes(a[1], a[0]), pm.Outcomes(b[1], b[0]))
    assert (round(low, 4), round(high, 4)) == expected


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
@settings(max_examples=200, deadline=None)
def test_the_wilson_interval_matches_scipy(sample):
    n, k = sample
    low, high = pm.wilson_interval(k, n)
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def _group(max_n: int = 2000):
    return st.integers(1, max_n).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))


@given(_group(), _group())
@settings(max_examples=300, deadline=None)
def test_the_z_test_agrees_with_scipys_pearson_chi_square(a, b):
    """The pooled two-proportion z-test is Pearson's chi-square test of the 2x2 table without
    Yates' correction: z squared is the chi-square statistic, and the two-sided p-values agree."""
    (n1, x1), (n2, x2) = a, b
    recovered, unrecovered = x1 + x2, (n1 - x1) + (n2 - x2)
    z, p = pm.z_test(pm.Outcomes(n1, x1), pm.Outcomes(n2, x2))
    if recovered == 0 or unrecovered == 0:  # a zero margin: scipy refuses the table
        assert (z, p) == (0.0, 1.0)
        return
    chi2, expected_p, _, _ = chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert z * z == pytest.approx(chi2, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(expected_p, rel=1e-9, abs=1e-15)


def test_a_textbook_z_test():
    """A worked example by hand: 140 of 200 against 255 of 340; pooled rate 395/540 = 0.7315,
    standard error 0.03949, z = -1.266, one-sided p = 0.103, so two-sided 0.206."""
    z, p = pm.z_test(pm.Outcomes(200, 140), pm.Outcomes(340, 255))
    assert round(z, 2) == -1.27
    assert round(p, 3) == 0.206


# -- the verdict --------------------------------------------------------------------------------


def test_small_samples_are_a_measurement_in_progress_and_say_why():
    result = pm.compare(pm.Outcomes(80, 40), pm.Outcomes(12, 2))
    assert result.verdict == "in_progress" and result.interval_points is None and result.p_value is None
    assert result.waiting_for == ("the control group has 12 of the 30 counted invoices needed",)
    assert result.uplift_points == pytest.approx(100 * (40 / 80 - 2 / 12))


def test_enough_invoices_but_too_few_recoveries_is_still_in_progress():
    result = pm.compare(pm.Outcomes(400, 8), pm.Outcomes(40, 0))
    assert result.in_progress
    assert "control group needs more invoices" in result.waiting_for[0]


def test_a_clear_uplift_is_significant_and_its_interval_excludes_zero():
    result = pm.compare(pm.Outcomes(900, 540), pm.Outcomes(100, 30))
    assert result.verdict == "uplift"
    assert result.uplift_points == pytest.approx(30.0)
    low, high = result.interval_points
    assert 0 < low < 30 < high
    _, p, _, _ = chi2_contingency([[540, 360], [30, 70]], correction=False)
    assert result.p_value == pytest.approx(p) and p < 0.05


def test_a_small_difference_is_not_significant():
    result = pm.compare(pm.Outcomes(300, 105), pm.Outcomes(100, 32))
    assert result.verdict == "no_difference"
    low, high = result.interval_points
    assert low < 0 < high


def test_a_worse_treatment_is_a_significant_drop():
    assert pm.compare(pm.Outcomes(500, 100), pm.Outcomes(100, 40)).verdict == "drop"


def test_outcomes_reject_impossible_counts():
    with pytest.raises(ValueError, match="between 0 and invoices"):
        pm.Outcomes(3, 4)
