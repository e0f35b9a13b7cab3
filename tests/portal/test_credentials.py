"""Which account background work uses on a project (SPEC R33, R34; RELIABILITY 21)."""
from __future__ import annotations

import pytest

from portal.connections.credentials import NoValidCredentials, account_for_project, record_integration
from portal.models import AccountStatus, ProcoreAccount

PROJECT = 5_000_000_555


@pytest.fixture
def two_accounts(app, db, make_company, make_user, make_account):
    company = make_company("Constructora Demo")
    make_user("ana@demo.test", "admin", company)
    make_user("beto@demo.test", "member", company, procore=True)
    first = make_account(company, "ana@demo.test", procore_user_id=5_000_000_901)
    second = make_account(company, "beto@demo.test", procore_user_id=5_000_000_902)
    with app.app_context():
        record_integration(db.session.get(ProcoreAccount, first.id), PROJECT)
        record_integration(db.session.get(ProcoreAccount, second.id), PROJECT)
        record_integration(db.session.get(ProcoreAccount, second.id), PROJECT)  # idempotent
        db.session.commit()
    return company, first, second


def _set_status(app, db, account_id, status):
    with app.app_context():
        account = db.session.get(ProcoreAccount, account_id)
        account.status = AccountStatus(status)
        db.session.commit()


def test_original_account_first(app, db, two_accounts):
    company, first, second = two_accounts
    with app.app_context():
        assert account_for_project(company.id, PROJECT).id == first.id
        assert account_for_project(company.id, PROJECT, preferred_account_id=second.id).id == second.id


def test_falls_back_to_another_account_that_completed_an_integration(app, db, two_accounts):
    """R34: the original lost its access; the other account that integrated the project is used."""
    company, first, second = two_accounts
    _set_status(app, db, first.id, "needs_reauth")
    with app.app_context():
        assert account_for_project(company.id, PROJECT, preferred_account_id=first.id).id == second.id


def test_no_valid_account_is_a_clear_error(app, db, two_accounts):
    company, first, second = two_accounts
    _set_status(app, db, first.id, "revoked")
    _set_status(app, db, second.id, "needs_reauth")
    with app.app_context(), pytest.raises(NoValidCredentials) as error:
        account_for_project(company.id, PROJECT)
    assert "credentials" in str(error.value)


def test_accounts_that_never_integrated_the_project_are_not_used(app, db, two_accounts, make_user, make_account):
    company, first, second = two_accounts
    make_user("carla@demo.test", "admin", company)
    make_account(company, "carla@demo.test", procore_user_id=5_000_000_903)
    _set_status(app, db, first.id, "revoked")
    _set_status(app, db, second.id, "revoked")
    with app.app_context(), pytest.raises(NoValidCredentials):
        account_for_project(company.id, PROJECT)


def test_other_company_preferred_account_is_ignored(app, db, two_accounts, make_company, make_user, make_account):
    company, first, _second = two_accounts
    other = make_company("Otra")
    make_user("x@otra.test", "admin", other)
    foreign = make_account(other, "x@otra.test", procore_user_id=5_000_000_999)
    with app.app_context():
        assert account_for_project(company.id, PROJECT, preferred_account_id=foreign.id).id == first.id
