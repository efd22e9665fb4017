"""Dashboard sessions end on the server: a session cookie copied before sign-out, a password change
or the user's removal no longer works after it; sign-ins are throttled per account as well as per IP.
"""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import User
from tests.test_dashboard import PASSWORD, csrf_of, login, post, text

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def users(app, merchant) -> dict[str, str]:
    with app.app_context():
        for role in ("admin", "marketing", "finance"):
            create_user(merchant.client_id, f"{role}@acme.example", role, PASSWORD)
    return {role: f"{role}@acme.example" for role in ("admin", "marketing", "finance")}


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, cookie: str):
    """Another browser, holding a copy of ``cookie`` (what an attacker who stole it would hold)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def signed_in(browser) -> bool:
    return browser.get("/dashboard/recoveries").status_code == 200


def test_a_cookie_copied_before_sign_out_does_not_work_after_it(app, client, users):
    assert login(client, users["admin"]).status_code == 302
    stolen = session_cookie(client)
    assert signed_in(with_cookie(app, stolen))

    r = post(client, "/dashboard/logout", "/dashboard/recoveries")
    assert r.status_code == 302
    assert not signed_in(client)
    thief = with_cookie(app, stolen)
    assert thief.get("/dashboard/recoveries").status_code == 302  # to the sign-in page
    assert thief.get("/dashboard/settings").status_code == 302


def test_signing_in_again_after_sign_out_works(app, client, users):
    login(client, users["admin"])
    post(client, "/dashboard/logout", "/dashboard/recoveries")
    assert login(client, users["admin"]).status_code == 302
    assert signed_in(client)


def test_a_password_change_ends_every_other_session(app, client, users):
    assert login(client, users["marketing"]).status_code == 302
    elsewhere = app.test_client()
    assert login(elsewhere, users["marketing"]).status_code == 302
    stolen = session_cookie(client)

    r = post(
        client,
        "/dashboard/account",
        "/dashboard/account",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert r.status_code == 302
    assert "Password changed. You were signed out everywhere else." in text(client.get("/dashboard/account"))
    assert signed_in(client)  # this browser carries on
    assert not signed_in(elsewhere)
    assert not signed_in(with_cookie(app, stolen))
    assert login(app.test_client(), users["marketing"]).status_code == 400  # the old password
    assert login(app.test_client(), users["marketing"], NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"current": "not my password!", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "The current password is not right.",
        ),
        ({"current": PASSWORD, "password": "short", "confirm": "short"}, "at least 12 characters"),
        (
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": "something else"},
            "The passwords do not match.",
        ),
        (
            {"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
            "must differ from the current one",
        ),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(app, client, users, fields, message):
    login(client, users["finance"])
    r = post(client, "/dashboard/account", "/dashboard/account", fields)
    assert r.status_code == 400 and message in text(r)
    assert signed_in(client)
    with app.app_context():
        user = db.session.query(User).filter_by(email=users["finance"]).one()
        assert check_password_hash(user.password_hash, PASSWORD) and user.session_version == 1


def test_a_removed_user_is_signed_out_at_once(app, client, users):
    removed = app.test_client()
    assert login(removed, users["finance"]).status_code == 302
    login(client, users["admin"])
    with app.app_context():
        finance_id = db.session.query(User.id).filter_by(email=users["finance"]).scalar()
    r = post(client, f"/dashboard/users/{finance_id}/remove", "/dashboard/users")
    assert r.status_code == 302
    assert not signed_in(removed)


def test_an_operator_can_reset_a_password_from_the_cli(app, runner, client, users):
    login(client, users["admin"])
    result = runner.invoke(
        args=["users", "set-password", users["admin"], "--password-stdin"], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert not signed_in(client)
    assert login(app.test_client(), users["admin"], NEW_PASSWORD).status_code == 302
    result = runner.invoke(
        args=["users", "set-password", "nobody@acme.example", "--password-stdin"], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code != 0 and "no user with email nobody@acme.example" in result.output


# --- throttling ----------------------------------------------------------------------------------


def test_failed_sign_ins_are_throttled_per_account_across_addresses(make_app, merchant):
    """Ten failures on one account from ten addresses: the eleventh try, even with the right
    password, waits; another account is not affected."""
    app = make_app(DASHBOARD_LOGIN_ACCOUNT_RATE_LIMIT="10 per 15 minutes")
    with app.app_context():
        create_user(merchant.client_id, "target@acme.example", "admin", PASSWORD)
        create_user(merchant.client_id, "bystander@acme.example", "admin", PASSWORD)
    for n in range(10):
        browser = app.test_client()
        environ = {"REMOTE_ADDR": f"203.0.113.{n + 1}"}
        page = browser.get("/dashboard/login", environ_base=environ).get_data(as_text=True)
        r = browser.post(
            "/dashboard/login",
            environ_base=environ,
            data={
                "csrf_token": csrf_of(page),
                "email": "Target@acme.example",
                "password": f"guess number {n}!",
            },
        )
        assert r.status_code == 400, n

    browser = app.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.7"}
    page = browser.get("/dashboard/login", environ_base=environ).get_data(as_text=True)
    r = browser.post(
        "/dashboard/login",
        environ_base=environ,
        data={"csrf_token": csrf_of(page), "email": "target@acme.example", "password": PASSWORD},
    )
    assert r.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes and try again" in text(r)
    assert r.headers["Retry-After"] == "900"
    assert not signed_in(browser)
    assert login(app.test_client(), "bystander@acme.example").status_code == 302


def test_successful_sign_ins_do_not_count_against_the_account(make_app, merchant):
    app = make_app(DASHBOARD_LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes")
    with app.app_context():
        create_user(merchant.client_id, "daily@acme.example", "admin", PASSWORD)
    for _ in range(4):
        assert login(app.test_client(), "daily@acme.example").status_code == 302
