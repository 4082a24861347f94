"""Page forms (WTForms): validation messages next to each field, what the user typed kept."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

class Form(FlaskForm):
    """A page's form, filled from the posted form fields only. (Flask-WTF would also take a JSON
    body for the fields, and fail with a 500 on one that is not an object; no page posts JSON.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "formdata" not in kwargs and request.is_json:
            kwargs["formdata"] = None
        super().__init__(*args, **kwargs)


NAME = Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$",
              message=_l("Use letters, digits, '-', '_' and '.', starting with a letter or digit."))


class JoinForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=96), NAME])
    email = StringField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Confirm password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))])


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=96)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class NewRepoForm(Form):
    owner = SelectField(_l("Owner"), validators=[DataRequired()])
    name = StringField(_l("Model name"), validators=[DataRequired(), Length(max=96), NAME])
    license = SelectField(_l("License"), validators=[Optional()])
    visibility = RadioField(_l("Visibility"), choices=[("public", _l("Public")), ("private", _l("Private"))],
                            default="public")


class TokenForm(Form):
    label = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = RadioField(_l("Role"), choices=[("read", _l("Read")), ("write", _l("Write"))], default="read")


class ProfileForm(Form):
    fullname = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    email = StringField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=320)])


class PasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Confirm new password"),
                            validators=[DataRequired(), EqualTo("new", message=_l("Passwords do not match."))])


class CommentForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=65536)])


class DiscussionForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=65536)])


class CommitMessageForm(Form):
    summary = StringField(_l("Commit message"), validators=[Optional(), Length(max=1000)])
    description = TextAreaField(_l("Extended description"), validators=[Optional(), Length(max=100_000)])
    create_pr = BooleanField(_l("Open a pull request"))
