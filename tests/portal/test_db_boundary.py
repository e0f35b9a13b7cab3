"""No database transaction stays open across a Procore call (ARCHITECTURE "Rules the code must make easy";
RELIABILITY 19; issue 10): portal/db_boundary.py, run by every ProcoreClient the portal builds."""
from __future__ import annotations

import logging

import pytest
import responses
from sqlalchemy import select, update

from portal.connections import service
from portal.connections.credentials import client_for, client_for_account
from portal.db_boundary import OpenTransactionAcrossNetworkCall, before_network_call
from portal.models import Company, HookCheck, ProcoreAccount
from portal.procore import InMemoryCredential
from tests.conftest import UNREACHABLE_PROCORE

ME = f"{UNREACHABLE_PROCORE}/rest/v1.0/me"


@pytest.fixture
def account(make_company, make_user, make_account):
    company = make_company("Constructora Demo")
    make_user("ana@demo.test", "admin", company)
    return make_account(company, "ana@demo.test")


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _check_row(company_id: int) -> HookCheck:
    return HookCheck(company_id=company_id, procore_project_id=7, state="healthy", details={}, checked_by="test")


def test_a_flushed_write_before_a_procore_call_is_refused(app, db, account, rsps):
    """The issue's import page: a HookCheck flushed, not committed, then the next Procore call."""
    rsps.get(ME, json={"id": 1})
    with app.app_context():
        client = client_for_account(db.session.get(ProcoreAccount, account.id))
        db.session.add(_check_row(account.company_id))
        db.session.flush()
        with pytest.raises(OpenTransactionAcrossNetworkCall, match="flushed.*GET /rest/v1.0/me"):
            client.me()
        assert len(rsps.calls) == 0  # refused before anything reached Procore
        db.session.rollback()
        assert client.me().id == 1  # nothing pending: the call goes out


@pytest.mark.parametrize("change", ["new", "dirty", "deleted", "dml"])
def test_every_kind_of_pending_write_is_refused(app, db, account, rsps, change):
    rsps.get(ME, json={"id": 1})
    with app.app_context():
        client = client_for(InMemoryCredential("pending:test", None))
        company = db.session.get(Company, account.company_id)
        if change == "new":
            db.session.add(_check_row(company.id))
        elif change == "dirty":
            company.name = "Otro nombre"
        elif change == "deleted":
            db.session.add(_check_row(company.id))
            db.session.commit()
            db.session.delete(db.session.scalar(select(HookCheck)))
        else:
            db.session.execute(update(Company).where(Company.id == company.id).values(name="Otro nombre"))
        with pytest.raises(OpenTransactionAcrossNetworkCall, match="GET /rest/v1.0/me"):
            client.me()
        db.session.rollback()
    assert len(rsps.calls) == 0


def test_a_read_only_transaction_is_ended_before_the_call(app, db, account, rsps):
    seen = []

    def me(request):
        from portal.extensions import db as database

        seen.append(database.session().in_transaction())
        return 200, {}, '{"id": 1}'

    rsps.add_callback(responses.GET, ME, callback=me)
    with app.app_context():
        client = client_for_account(db.session.get(ProcoreAccount, account.id))
        assert db.session.get(Company, account.company_id).name == "Constructora Demo"
        assert db.session().in_transaction()
        assert client.me().id == 1
    assert seen == [False]


def test_an_unchanged_attribute_set_is_not_a_write(app, db, account, rsps):
    rsps.get(ME, json={"id": 1})
    with app.app_context():
        client = client_for_account(db.session.get(ProcoreAccount, account.id))
        company = db.session.get(Company, account.company_id)
        company.name = company.name  # in session.dirty, but nothing to write
        assert client.me().id == 1


def test_off_in_production_it_logs_and_commits_so_nothing_is_lost(app, db, account, rsps, caplog, monkeypatch):
    rsps.get(ME, json={"id": 1})
    monkeypatch.setitem(app.config, "STRICT_DB_BOUNDARY", False)
    with app.app_context(), caplog.at_level(logging.ERROR, logger="portal.db_boundary"):
        client = client_for_account(db.session.get(ProcoreAccount, account.id))
        db.session.add(_check_row(account.company_id))
        db.session.flush()
        assert client.me().id == 1
        assert not db.session().in_transaction()
    assert "rows flushed but not committed before the network call GET /rest/v1.0/me" in caplog.text
    with app.app_context():
        assert db.session.scalar(select(HookCheck.state)) == "healthy"  # committed, not lost


def test_the_switch_is_on_outside_production_and_off_in_production(monkeypatch):
    from config import load_config

    monkeypatch.delenv("STRICT_DB_BOUNDARY", raising=False)
    assert load_config("development")["STRICT_DB_BOUNDARY"] is True
    assert load_config("testing")["STRICT_DB_BOUNDARY"] is True
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEY", "PROCORE_CLIENT_ID",
                 "PROCORE_CLIENT_SECRET", "PUBLIC_BASE_URL", "STORAGE_DIR"):
        monkeypatch.setenv(name, "x")
    assert load_config("production")["STRICT_DB_BOUNDARY"] is False
    monkeypatch.setenv("STRICT_DB_BOUNDARY", "1")
    assert load_config("production")["STRICT_DB_BOUNDARY"] is True


def test_outside_an_app_context_it_does_nothing():
    before_network_call("GET /rest/v1.0/me")


def test_the_revoke_on_disconnect_goes_through_the_rule(app, db, account, rsps):
    """Calls made without the client (Procore's revoke) end the transaction too."""
    rsps.post(f"{UNREACHABLE_PROCORE}/oauth/revoke", json={})
    with app.app_context():
        row = db.session.get(ProcoreAccount, account.id)
        db.session.add(_check_row(account.company_id))
        db.session.flush()
        with pytest.raises(OpenTransactionAcrossNetworkCall, match="POST /oauth/revoke"):
            service.disconnect(row)
        db.session.rollback()
        assert len(rsps.calls) == 0
        assert service.disconnect(db.session.get(ProcoreAccount, account.id)) is True
        db.session.commit()
    assert len(rsps.calls) == 1
