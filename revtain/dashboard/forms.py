"""The dashboard's forms. Every form that changes something is a ``FlaskForm`` with its CSRF token;
the recoveries filter is a GET form and changes nothing, so it has none (a token in a URL leaks)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ..brand_colors import brand_color_problem
from ..models.recovery import (
    AWAITING_CARD,
    BLOCKED,
    FAILED,
    HOLDOUT,
    PROCESSING,
    QUEUED,
    SUCCEEDED,
    UNKNOWN,
)
from ..models.user import ROLES
from .accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value, label):
        return (value, label)


def _choices(pairs) -> list:
    return [SelectChoice(value, label) for value, label in pairs]


HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
STATUSES = (PROCESSING, QUEUED, AWAITING_CARD, SUCCEEDED, FAILED, BLOCKED, UNKNOWN, HOLDOUT)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _lower_strip(value):
    return value.strip().lower() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)], filters=[_strip])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


class RecoveryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", validators=[Optional()],
                         choices=_choices([("", "Any status"), *[(s, s.capitalize()) for s in STATUSES]]))
    date_from = DateField("Created from", validators=[Optional()])
    date_to = DateField("Created to", validators=[Optional()])
    decline_code = StringField("Decline code", validators=[Optional(), Length(max=64)], filters=[_strip])
    q = StringField("Search", validators=[Optional(), Length(max=320)], filters=[_strip],
                    description="Transaction id, idempotency key or customer email")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


class WebhookUrlForm(FlaskForm):
    url = URLField("Webhook URL", validators=[Optional(), Length(max=2048)], filters=[_strip],
                   description="HTTPS URL that receives Revtain's signed webhooks. "
                               "Leave empty to stop sending.")
    submit = SubmitField("Save webhook URL")


class RotateKeysForm(FlaskForm):
    confirm = BooleanField("I understand the current API key and webhook secret stop working at once.",
                           validators=[DataRequired("Tick the box to confirm the rotation.")])
    submit = SubmitField("Rotate keys")


class GeneralSettingsForm(FlaskForm):
    billing_cycle_day = IntegerField(
        "Billing cycle day", validators=[Optional(), NumberRange(1, 31)],
        description="Day of the month your customers are billed (1-31), if fixed.",
    )
    timezone = StringField("Time zone", validators=[InputRequired(), Length(max=64)], filters=[_strip],
                           description="IANA name, e.g. Europe/Paris")
    dunning_enabled = BooleanField("Dunning enabled")
    dunning_channel = SelectField("Dunning channel",
                                  choices=_choices([("email", "Email"), ("webhook", "Webhook")]))
    submit = SubmitField("Save settings")

    def validate_timezone(self, field) -> None:
        if field.data not in available_timezones():
            raise ValidationError(f"Unknown IANA time zone {field.data!r} (e.g. Europe/Paris).")


class ProofModeForm(FlaskForm):
    enabled = BooleanField("Proof Mode on")
    share = IntegerField(
        "Control group share (%)",
        validators=[InputRequired("Enter a share from 1 to 50."),
                    NumberRange(1, 50, "The share must be from %(min)s to %(max)s %%.")],
        description="Customers in the control group get no retry and no dunning email: turn this on only "
                    "with the merchant's written agreement. Typically 10; at most 50.",
    )
    submit = SubmitField("Save Proof Mode")


class PreRetryCheckForm(FlaskForm):
    url = URLField("Pre-retry check URL", validators=[Optional(), Length(max=2048)], filters=[_strip],
                   description="HTTPS URL asked before each scheduled retry whether to go ahead, signed like "
                               "the webhooks. Leave empty to retry without asking.")
    timeout = FloatField("Answer within (seconds)", validators=[
        Optional(), NumberRange(0.5, 10, "The timeout must be from %(min)s to %(max)s seconds.")],
        description="Without an answer in time the retry goes ahead. Empty: 3 seconds.")
    submit = SubmitField("Save pre-retry check")


class DomainForm(FlaskForm):
    domain = StringField(
        "Card-update domain", validators=[Optional(), Length(max=253)], filters=[_lower_strip],
        description="A host name on your own domain, e.g. pay.example.com",
    )
    submit = SubmitField("Save domain")

    def validate_domain(self, field) -> None:
        if field.data and not HOSTNAME.match(field.data):
            raise ValidationError("Enter a host name like pay.example.com.")


class DomainCheckForm(FlaskForm):
    submit = SubmitField("Check")


def _https_url(form, field) -> None:
    if field.data:
        parts = urlsplit(field.data)
        if parts.scheme != "https" or not parts.hostname:
            raise ValidationError(f"The {field.label.text.lower()} URL must start with https://.")


def _readable(form, field) -> None:
    if field.data and COLOR.match(field.data):
        problem = brand_color_problem(field.data)
        if problem:
            raise ValidationError(problem)


def _support_email(form, field) -> None:
    if field.data and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", field.data):
        raise ValidationError("Enter an email address like help@example.com.")


class BrandingForm(FlaskForm):
    brand_name = StringField("Brand name", validators=[Optional(), Length(max=200)], filters=[_strip])
    brand_logo_url = URLField("Logo URL", validators=[Optional(), Length(max=2048), _https_url],
                              filters=[_strip], description="https:// only")
    brand_primary_color = StringField(
        "Primary colour", filters=[_strip],
        description="Hex, e.g. #4f46e5: the buttons' colour, with white text on it",
        validators=[Optional(), Regexp(COLOR, message="The colour must look like #4f46e5."), _readable],
    )
    brand_support_email = EmailField(
        "Support email", filters=[_strip], description="Shown to customers on the card-update page",
        validators=[Optional(), Length(max=320), _support_email],
    )
    brand_support_url = URLField("Support page", filters=[_strip], description="https:// only",
                                 validators=[Optional(), Length(max=2048), _https_url])
    submit = SubmitField("Save branding")


class ReplayForm(FlaskForm):
    submit = SubmitField("Replay")


def _new_password(label: str, description: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(), Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH,
                               f"The password must be at least {MIN_PASSWORD_LENGTH} characters "
                               f"(and at most {MAX_PASSWORD_LENGTH})."),
    ], description=description)


def _repeated_password(label: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(), EqualTo("password", "The passwords do not match."),
    ])


class AddUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)], filters=[_strip])
    role = SelectField("Role", choices=_choices((r, r.capitalize()) for r in ROLES))
    password = _new_password("Password", f"At least {MIN_PASSWORD_LENGTH} characters")
    confirm = _repeated_password("Repeat password")
    submit = SubmitField("Add user")


class RemoveUserForm(FlaskForm):
    submit = SubmitField("Remove")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    password = _new_password(
        "New password", f"At least {MIN_PASSWORD_LENGTH} characters. Signs you out everywhere else."
    )
    confirm = _repeated_password("Repeat new password")
    submit = SubmitField("Change password")
