"""Periodic reconciliation (issue 15, portal/sync/reconcile.py; RELIABILITY 9; SPEC R4, R7): every
SYNC_RECONCILE_EVERY seconds a full refresh of every free active integration, made by the code
"Actualizar" uses; what it created, updated and removed is reported as repaired drift."""
from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import select

from portal import periodic
from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import _upload, procore_folder, run_job, run_row, start


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def _integration(db, company_id, *statuses, active=True):
    from portal.models import Integration, SyncRun

    integration = Integration(company_id=company_id, cbox_folder_id=1, procore_company_id=5_000_000_001,
                              procore_project_id=5_000_000_100, tool="documents", selections={},
                              status="active" if active else "removed")
    db.session.add(integration)
    db.session.flush()
    for status in statuses:
        db.session.add(SyncRun(integration_id=integration.id, kind="import", status=status))
    db.session.flush()
    return integration.id


def test_a_refresh_is_queued_for_each_free_active_integration(app, db, make_company):
    """SPEC R7 without a person: free integrations get a refresh (origin "reconcile", enqueued with its
    run id only, RELIABILITY 10); busy ones (queued, running, stopping, awaiting an admin) keep their run,
    a stopped one stays stopped, an inactive one is left alone. A second round adds nothing."""
    from portal.models import SyncRun
    from portal.sync.reconcile import reconcile_all

    company = make_company()
    with app.app_context():
        free = [_integration(db, company.id, "done"), _integration(db, company.id, "failed"),
                _integration(db, company.id)]
        busy = [_integration(db, company.id, "done", status) for status in
                ("queued", "running", "stopping", "awaiting_confirmation")]
        stopped, inactive = _integration(db, company.id, "stopped"), _integration(db, company.id, "done", active=False)
        db.session.commit()
        assert reconcile_all() == len(free)
        runs = db.session.scalars(select(SyncRun).where(SyncRun.origin == "reconcile")).all()
        assert sorted(run.integration_id for run in runs) == sorted(free)
        assert all(run.kind == "refresh" and run.status == "queued" for run in runs)
        assert not {stopped, inactive, *busy} & {run.integration_id for run in runs}
        queued = Queue("default", connection=app.extensions["redis"]).jobs
        assert sorted(job.args[0] for job in queued) == sorted(run.id for run in runs)
        assert reconcile_all() == 0  # now each has its queued run


def test_the_reconciliation_is_a_periodic_job_that_can_be_turned_off(app, monkeypatch):
    """SPEC R4 backed by RELIABILITY 9 every 6 h by default; SYNC_RECONCILE_EVERY=0 turns it off."""
    assert periodic.BY_NAME["sync-reconcile"].every(app.config) == app.config["SYNC_RECONCILE_EVERY"] == 6 * 3600
    monkeypatch.setitem(app.config, "SYNC_RECONCILE_EVERY", 0)
    with app.app_context():
        assert periodic.arm_all()["sync-reconcile"] is None
        assert periodic.run("sync-reconcile", 21600) == "off"


def test_reconciliation_repairs_what_no_webhook_brought_and_says_so(app, db, procore_sandbox, world, signed_in):
    """RELIABILITY 9: a file created and one deleted in Procore with no webhook reaching us; the periodic
    job's refresh brings cBox back to Procore's tree and reports "repaired 2 items"; the next round
    writes nothing."""
    from portal.models import PeriodicJobRun, SyncRun

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    folder = procore.child("04 Informes Técnicos", root)
    procore.send("DELETE", f"/rest/v1.0/files/{procore.folder(folder['id'])['files'][0]['id']}")
    procore.send("POST", "/rest/v1.0/files", file={"name": "sin-webhook.txt", "parent_id": folder["id"],
                                                    "upload_uuid": _upload(procore_sandbox, world, b"perdido")})
    every = app.config["SYNC_RECONCILE_EVERY"]
    with app.app_context():
        assert periodic.run("sync-reconcile", periodic.next_due(every) - every) == "sync-reconcile: 1"
        assert db.session.get(PeriodicJobRun, "sync-reconcile").last_result == 1
        reconcile_id = db.session.scalar(select(SyncRun.id).where(SyncRun.origin == "reconcile"))
    assert run_job(app, reconcile_id) == "done"
    run = run_row(app, db, reconcile_id)
    assert (run.kind, run.imported, run.deleted, run.repaired) == ("refresh", 1, 1, 2)
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")
    html = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "La conciliación periódica reparó 2 elementos" in html
    with app.app_context():
        from portal.sync.reconcile import repairs_since

        assert repairs_since(db.session.get(SyncRun, run_id).created_at) == (1, 1, 2)
        assert periodic.run("sync-reconcile", periodic.next_due(every)) == "sync-reconcile: 1"
        second = db.session.scalar(select(SyncRun.id).where(SyncRun.origin == "reconcile", SyncRun.id != reconcile_id))
    assert run_job(app, second) == "done"
    assert run_row(app, db, second).repaired == 0
