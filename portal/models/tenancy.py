"""Tenants (companies) and the people who sign in to the portal."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import ID, UTCDateTime
from portal.security import hash_password, verify_password


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(str, enum.Enum):
    MEMBER = "member"  # a person of one company who uses cBox but manages no users
    ADMIN = "admin"  # admin of exactly one company
    SUPPORT = "support"  # read-mostly, across companies
    SUPERADMIN = "superadmin"  # manages companies and everyone


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The Procore company this tenant is linked to (SPEC R2), set by the first connection.
    procore_company_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    procore_company_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    users: Mapped[list[User]] = relationship(back_populates="company", order_by="User.email")

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.name!r}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # cBox permission "Integraciones > Procore" (SPEC R32), set by the company admin.
    can_integrate_procore: Mapped[bool] = mapped_column(Boolean, default=False)
    # Alert choices (portal/alerts.py): {"immediate": {kind: bool}, "digest": bool}; None = the defaults.
    alert_settings: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Rotated at logout and deactivation: every session cookie naming the old value dies
    # (RELIABILITY 25), even a copy kept by an attacker.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    company: Mapped[Company | None] = relationship(back_populates="users")

    # Flask-Login: the session stores "<id>:<session_token>", not the bare id.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active) and (self.company is None or self.company.active)

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)

    def rotate_session_token(self) -> None:
        self.session_token = secrets.token_urlsafe(32)

    @property
    def is_company_user(self) -> bool:
        return self.role in (Role.ADMIN, Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_support(self) -> bool:
        return self.role == Role.SUPPORT

    @property
    def is_superadmin(self) -> bool:
        return self.role == Role.SUPERADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"
