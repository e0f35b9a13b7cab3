"""Procore accounts connected by portal users, and who completed integrations where (R33, R34)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.tenancy import Company, User, utcnow
from portal.models.types import ID, UTCDateTime


class AccountStatus(enum.StrEnum):
    VALID = "valid"
    NEEDS_REAUTH = "needs_reauth"  # refresh failed or Procore refused the token: the user must sign in again
    REVOKED = "revoked"  # disconnected from the portal; tokens erased


class ProcoreAccount(db.Model):
    """One Procore user connected by one portal user. Tokens are Fernet ciphertext only."""

    __tablename__ = "procore_accounts"
    __table_args__ = (UniqueConstraint("user_id", "procore_user_id", name="uq_procore_accounts_user_procore_user"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    procore_user_id: Mapped[int] = mapped_column(BigInteger)
    procore_login: Mapped[str] = mapped_column(String(254))
    procore_name: Mapped[str] = mapped_column(String(200), default="")
    procore_company_id: Mapped[int] = mapped_column(BigInteger)
    access_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    token_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[AccountStatus] = mapped_column(
        Enum(AccountStatus, name="procore_account_status", values_callable=lambda e: [m.value for m in e]),
        default=AccountStatus.VALID)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 server_default=func.now())

    company: Mapped[Company] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.status == AccountStatus.VALID and self.access_token_enc is not None

    def __repr__(self) -> str:  # never the tokens
        return f"<ProcoreAccount {self.id} {self.procore_login} {self.status.value}>"


class ProjectCredential(db.Model):
    """An account that completed an integration on a Procore project (SPEC R33)."""

    __tablename__ = "procore_project_credentials"
    __table_args__ = (
        UniqueConstraint("account_id", "procore_project_id", name="uq_project_credentials_account_project"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("procore_accounts.id"), index=True)
    procore_project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    account: Mapped[ProcoreAccount] = relationship()
