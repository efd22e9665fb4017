"""The dunning editor's forms: templates, test sends, sequences and their steps.

Every form that changes something is a ``FlaskForm`` with its CSRF token. The steps of a sequence
are a ``FieldList`` of plain sub-forms (the sequence form's token covers them); the template a
step sends is a choice among the client's own templates, set by the view.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..dunning.sequences import MAX_DELAY_HOURS, MAX_STEPS
from ..dunning.templates import MAX_TEMPLATE_CHARS
from ..models.dunning import APPLIES_TO, CHANNELS
from .forms import _choices, _strip

APPLIES_LABELS = {
    "any": "Any decline",
    "soft": "Soft declines (will be retried)",
    "hard": "Hard declines (needs a new card)",
    "auth_required": "Needs authentication",
}
CHANNEL_LABELS = {"email": "Email"}


def _lines(value):
    """Browsers post CRLF line ends; templates keep LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class TemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=MAX_TEMPLATE_CHARS)],
                          filters=[_strip])
    html = TextAreaField("HTML part", validators=[DataRequired(), Length(max=MAX_TEMPLATE_CHARS)],
                         filters=[_lines])
    text = TextAreaField("Text part", validators=[Optional(), Length(max=MAX_TEMPLATE_CHARS)],
                         filters=[_lines],
                         description="The plain-text email, for mail apps that do not show HTML. Leave it "
                                     "empty to have it generated from the HTML part.")
    preview = SubmitField("Preview")
    save = SubmitField("Save")


class TestSendForm(FlaskForm):
    to_address = EmailField(
        "Send a test to", validators=[DataRequired(), Length(max=320)], filters=[_strip],
        description="The saved version, rendered with the sample data, subject marked [Test].",
    )
    submit = SubmitField("Send a test")


class ActionForm(FlaskForm):
    """A button that changes something (copy, publish, archive, new version): its CSRF token only."""

    submit = SubmitField("Go")


class NewSequenceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    submit = SubmitField("Create sequence")


class StepForm(Form):
    delay_hours = IntegerField(
        "Delay (hours after the failure)", validators=[InputRequired(), NumberRange(0, MAX_DELAY_HOURS)],
        default=0,
    )
    channel = SelectField("Channel", choices=_choices((c, CHANNEL_LABELS.get(c, c)) for c in CHANNELS),
                          default=CHANNELS[0])
    template_id = SelectField("Template", choices=[])  # the client's templates, set by the view
    applies_to = SelectField("Applies to", choices=_choices((a, APPLIES_LABELS[a]) for a in APPLIES_TO),
                             default="any")
    remove = BooleanField("Remove this step")


class SequenceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    hold_while_retrying = BooleanField("Hold emails while a smart retry is pending")
    quiet_start = IntegerField("Quiet hours start", validators=[InputRequired(), NumberRange(0, 23)],
                               description="Hour (0-23) in your time zone from which no email is sent.")
    quiet_end = IntegerField("Quiet hours end", validators=[InputRequired(), NumberRange(0, 23)],
                             description="Hour (0-23) when sending resumes. "
                                         "The same start and end: no quiet hours.")
    from_address = EmailField("From address", validators=[Optional(), Length(max=320)], filters=[_strip],
                              description="On your verified sending domain. Empty: Revtain's default sender.")
    reply_to = EmailField("Reply-to", validators=[Optional(), Length(max=320)], filters=[_strip])
    steps = FieldList(FormField(StepForm), max_entries=MAX_STEPS)
    save = SubmitField("Save draft")
    add_step = SubmitField("Add a step")


class SenderForm(FlaskForm):
    """Who dunning emails come from, and what they may track."""

    sender_name = StringField("From name", validators=[Optional(), Length(max=200)], filters=[_strip],
                              description="Empty: your brand name.")
    sender_address = EmailField("From address", validators=[Optional(), Length(max=320)], filters=[_strip],
                                description="On a domain you own, with SPF and DKIM for the mail server "
                                            "(see below). Empty: Revtain's default sender.")
    sender_reply_to = EmailField("Reply-to and support address", validators=[Optional(), Length(max=320)],
                                 filters=[_strip],
                                 description="Where customers' replies go; shown as the support contact in "
                                             "the footer.")
    email_open_tracking = BooleanField(
        "Count opens with a tracking pixel",
        description="A 1-pixel image in each email. Off by default: some customers and laws expect consent.")
    submit = SubmitField("Save sender")
