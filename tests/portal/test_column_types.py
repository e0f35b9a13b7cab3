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
