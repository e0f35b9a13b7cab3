"""WTForms used by the portal pages (CSRF comes from Flask-WTF)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

MIN_PASSWORD = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_address(form, field):
    """A syntactic check only: reserved domains such as .test must stay usable (demo logins)."""
    field.data = (field.data or "").strip().lower()
    if not _EMAIL.match(field.data):
        raise ValidationError(_l("Enter a valid email address."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), email_address, Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), email_address, Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[])
    company_id = SelectField(_l("Company"), coerce=int, choices=[], validate_choice=False)
    can_integrate_procore = BooleanField(_l("Integrations › Procore permission"))
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional(), Length(min=MIN_PASSWORD, max=1024)],
        description=_l("Leave empty to generate one; it is shown once."),
    )


class UserEditForm(UserForm):
    password = PasswordField(
        _l("New password"),
        validators=[Optional(), Length(min=MIN_PASSWORD, max=1024)],
        description=_l("Leave empty to keep the current password."),
    )


class CompanyForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(min=2, max=200)])

    def validate_name(self, field):
        field.data = " ".join((field.data or "").split())
        if len(field.data) < 2:
            raise ValidationError(_l("Enter a name."))


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""
