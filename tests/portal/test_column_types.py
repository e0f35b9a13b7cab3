"""The shared column types (portal/models/types.py): every datetime read back is aware UTC, on SQLite
and on PostgreSQL (issue 16)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text


def test_datetimes_come_back_aware_utc_whatever_zone_was_written(app, db):
    from portal.models import Company

    bogota = timezone(timedelta(hours=-5))
    with app.app_context():
        company = Company(name="Zonas", created_at=datetime(2026, 12, 6, 7, 30, tzinfo=bogota))
        db.session.add(company)
        db.session.commit()
        db.session.expire_all()
        company = db.session.get(Company, company.id)
        assert company.created_at == datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)
        assert company.created_at.utcoffset() == timedelta(0)
        newest = db.session.scalar(select(func.max(Company.created_at)))  # an aggregate keeps the type
        assert newest.utcoffset() == timedelta(0)
        later = db.session.scalar(select(func.count()).select_from(Company)
                                  .where(Company.created_at < datetime(2026, 12, 6, 8, tzinfo=bogota)))
        assert later == 1  # a bound value is compared in UTC


def test_the_server_default_comes_back_aware_utc(app, db):
    from portal.models import Company

    with app.app_context():
        db.session.execute(text("INSERT INTO companies (name, active) VALUES ('Por defecto', :yes)"), {"yes": True})
        db.session.commit()
        created = db.session.scalar(select(Company.created_at).where(Company.name == "Por defecto"))
        assert created.utcoffset() == timedelta(0)
        assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)


def test_a_status_comes_back_as_its_enum_member_and_equals_the_stored_string(app, db):
    from portal.models import Integration, IntegrationStatus

    with app.app_context():
        company = _company_id(db)
        kept = Integration(company_id=company, cbox_folder_id=1, procore_company_id=1, procore_project_id=2,
                           status=IntegrationStatus.PAUSED)
        other = Integration(company_id=company, cbox_folder_id=1, procore_company_id=1, procore_project_id=3,
                            status="removed")  # outside the enum: kept as written
        db.session.add_all([kept, other])
        db.session.commit()
        stored = dict(db.session.execute(text("SELECT procore_project_id, status FROM integrations")).all())
        assert stored == {2: "paused", 3: "removed"}
        db.session.expire_all()
        assert db.session.get(Integration, kept.id).status is IntegrationStatus.PAUSED
        assert db.session.get(Integration, kept.id).status == "paused" and f"{IntegrationStatus.PAUSED}" == "paused"
        assert db.session.get(Integration, other.id).status == "removed"


def _company_id(db) -> int:
    from portal.models import Company

    company = Company(name="Estados")
    db.session.add(company)
    db.session.flush()
    return company.id
