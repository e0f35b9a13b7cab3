"""An integration over time (issue 14; SPEC D1, R4, R7): the run history with each run's failed items
and reasons, the item states as CSV, "retry failed items" (only those are read again), pause, resume
and remove (the copies stay), the integrations list and `flask integrations ...`. Against the sandbox;
the one fault is a download that fails once, injected where the engine downloads."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from portal.sync.reasons import Reason
from tests.sync.helpers import Procore, cbox_tree, file_ids, links, make_world
from tests.sync.test_import_documents import procore_folder, run_job, run_row, start


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def fail_once(monkeypatch, file_id: int) -> list:
    """The first download of `file_id` fails as Procore answering 500 would; later ones go through."""
    from portal.sync.fetch import Fetched, Fetcher

    download, failed = Fetcher._download, []

    def flaky(self, item):
        if item.id == file_id and not failed:
            failed.append(item.id)
            return Fetched(item, reason=Reason("procore_error", {"detail": "500 Internal Server Error"}))
        return download(self, item)

    monkeypatch.setattr(Fetcher, "_download", flaky)
    return failed


def imported_with_one_failure(app, db, sb, world, monkeypatch):
    procore = Procore(sb, world)
    root = procore.root()
    files = file_ids(procore, root["id"])
    victim = sorted(fid for fid, f in files.items() if f["size"])[0]
    fail_once(monkeypatch, victim)
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    assert links(app, db, integration_id)[victim][0] == "error"
    return root, files, victim, integration_id, run_id


def synced_links(app, db, integration_id) -> int:
    """Files and folders linked and synced: what the pages count."""
    from portal.models import SyncItem

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SyncItem).where(
            SyncItem.integration_id == integration_id, SyncItem.status == "synced"))


def queued_runs(app, db, integration_id):
    from portal.models import SyncRun

    with app.app_context():
        return [(run.id, run.kind, run.scope) for run in db.session.scalars(
            select(SyncRun).where(SyncRun.integration_id == integration_id, SyncRun.status == "queued"))]


@pytest.mark.keeps_sandbox
def test_history_run_items_csv_and_retry_of_the_failed_item_only(app, db, procore_sandbox, world, signed_in,
                                                                  monkeypatch):
    root, files, victim, integration_id, run_id = imported_with_one_failure(app, db, procore_sandbox, world,
                                                                            monkeypatch)
    name = files[victim]["name"]

    page = signed_in.get(f"/integrations/{integration_id}/history").get_data(as_text=True)
    assert "Historial de ejecuciones" in page and f"#{run_id}" in page
    assert all(f"<th>{column}</th>" in page for column in ("Importados", "Actualizados", "Con errores", "Duración"))
    assert "1 con errores" in page and f"{synced_links(app, db, integration_id)} sincronizados" in page
    assert "Última sincronización correcta" in page  # the run ended done, with one item failed
    detail = signed_in.get(f"/integrations/{integration_id}/runs/{run_id}").get_data(as_text=True)
    assert name in detail and "500 Internal Server Error" in detail and "Error" in detail

    response = signed_in.get(f"/integrations/{integration_id}/items.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_id = {int(row["procore_id"]): row for row in rows if row["kind"] == "file"}
    assert set(by_id) == set(files)
    assert by_id[victim]["status"] == "error" and "500" in by_id[victim]["reason"]
    assert by_id[victim]["cbox_path"] == ""  # never arrived
    others = [row for fid, row in by_id.items() if fid != victim]
    assert all(row["status"] == "synced" and row["cbox_path"].startswith("Documentos/Procore/") for row in others)
    assert len({row["cbox_path"] for row in others}) == len(others)  # each its own cBox file

    show = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Reintentar 1 elemento con errores" in show
    from tests.conftest import csrf_token

    token = csrf_token(signed_in, f"/integrations/{integration_id}")
    assert signed_in.post(f"/integrations/{integration_id}/retry", data={"csrf_token": token}).status_code == 302
    [(retry_id, kind, scope)] = queued_runs(app, db, integration_id)
    assert kind == "event" and scope == [["Project Files", victim]]  # only the failed file is read again
    procore_sandbox._post("/_sandbox/stats/reset")
    assert run_job(app, retry_id) == "done"
    assert procore_sandbox.stats()["storage_downloads"] == 1
    assert {status for status, _error, _attempts in links(app, db, integration_id).values()} == {"synced"}
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == \
        Procore(procore_sandbox, world).tree(root["id"], "Procore")
    assert run_row(app, db, retry_id).imported == 1

    page = signed_in.get(f"/integrations/{integration_id}/history").get_data(as_text=True)
    assert f"Reintento de elementos fallidos #{retry_id}" in page and "1 con errores" not in page  # not "Cambios…"
    again = signed_in.get(f"/integrations/{integration_id}/runs/{run_id}").get_data(as_text=True)
    assert name not in again and "Ninguno" in again  # the retry handled it since
    token = csrf_token(signed_in, f"/integrations/{integration_id}")
    signed_in.post(f"/integrations/{integration_id}/retry", data={"csrf_token": token})
    assert queued_runs(app, db, integration_id) == []
    assert "no hay nada que reintentar" in signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)


@pytest.mark.keeps_sandbox
def test_cli_lists_shows_and_retries(app, db, procore_sandbox, world, monkeypatch):
    _root, files, victim, integration_id, run_id = imported_with_one_failure(app, db, procore_sandbox, world,
                                                                             monkeypatch)
    cli = app.test_cli_runner()
    listing = cli.invoke(args=["integrations", "list"])
    assert listing.exit_code == 0, listing.output
    line = next(row for row in listing.output.splitlines() if row.startswith(f"{integration_id}\t"))
    assert f"#{run_id} import done" in line and "error 1" in line
    assert f"synced {synced_links(app, db, integration_id)}" in line
    status = cli.invoke(args=["integrations", "status", str(integration_id)])
    assert status.exit_code == 0 and f"file {victim} {files[victim]['name']}" in status.output
    assert "500 Internal Server Error" in status.output
    assert cli.invoke(args=["integrations", "status", "999999"]).exit_code != 0  # a clear error, no traceback
    retry = cli.invoke(args=["integrations", "retry-failed", str(integration_id)])
    assert retry.exit_code == 0 and "retrying 1 item(s)" in retry.output
    [(retry_id, kind, _scope)] = queued_runs(app, db, integration_id)
    assert kind == "event" and run_job(app, retry_id) == "done"
    assert "nothing to retry" in cli.invoke(args=["integrations", "retry-failed", str(integration_id)]).output
    refresh = cli.invoke(args=["integrations", "refresh", str(integration_id)])
    assert refresh.exit_code == 0 and "refresh queued" in refresh.output


@pytest.mark.keeps_sandbox
def test_pause_resume_and_remove_keep_the_copies(app, db, procore_sandbox, world, signed_in):
    from portal.models import CboxFile, Integration, SyncItem, SyncRun
    from portal.sync.events import apply_event
    from tests.conftest import csrf_token

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    files = file_ids(procore, root["id"])
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    event = {"company_id": world.company_id, "procore_project_id": world.project_id,
             "resource_name": "Project Files", "resource_id": next(iter(files))}

    listing = signed_in.get("/integrations/").get_data(as_text=True)
    assert "Sincronizar ahora" in listing and "Pausar" in listing
    assert f"{synced_links(app, db, integration_id)} sincronizados" in listing
    token = csrf_token(signed_in, "/integrations/")
    assert signed_in.post(f"/integrations/{integration_id}/pause",
                          data={"csrf_token": token, "back": "index"}).headers["Location"] == "/integrations/"
    with app.app_context():
        assert db.session.get(Integration, integration_id).status == "paused"
        assert apply_event(event) == "no_integration"  # R4: a paused integration takes no events
    assert queued_runs(app, db, integration_id) == []
    listing = signed_in.get("/integrations/").get_data(as_text=True)
    assert "En pausa" in listing and "Reanudar" in listing
    assert "está en pausa" in signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)

    token = csrf_token(signed_in, f"/integrations/{integration_id}")
    signed_in.post(f"/integrations/{integration_id}/resume", data={"csrf_token": token})
    [(refresh_id, kind, _scope)] = queued_runs(app, db, integration_id)
    assert kind == "refresh"  # what changed while paused is brought by a whole refresh
    with app.app_context():
        assert db.session.get(Integration, integration_id).status == "active"
        assert apply_event(event) == "sync_queued"

    # A running run refuses the removal; the page says why and disables the button.
    with app.app_context():
        db.session.get(SyncRun, refresh_id).status = "running"
        db.session.commit()
    page = signed_in.get(f"/integrations/{integration_id}/remove").get_data(as_text=True)
    assert "¿Eliminar esta integración?" in page and "Las copias en cBox permanecen" in page and "disabled" in page
    token = csrf_token(signed_in, f"/integrations/{integration_id}/remove")
    signed_in.post(f"/integrations/{integration_id}/remove", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Integration, integration_id) is not None
        db.session.get(SyncRun, refresh_id).status = "done"
        db.session.commit()
        copies = db.session.scalar(select(func.count()).select_from(CboxFile))
    folder_id = procore_folder(app, db, integration_id)
    before = cbox_tree(app, db, folder_id)
    response = signed_in.post(f"/integrations/{integration_id}/remove", data={"csrf_token": token})
    assert response.headers["Location"] == "/integrations/"
    with app.app_context():
        assert db.session.get(Integration, integration_id) is None
        assert db.session.scalar(select(func.count()).select_from(SyncItem)) == 0
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
        assert db.session.scalar(select(func.count()).select_from(CboxFile)) == copies == len(files)
    assert cbox_tree(app, db, folder_id) == before and len(before) >= len(files)
    assert "Integración eliminada" in signed_in.get("/integrations/").get_data(as_text=True)
    assert signed_in.get(f"/integrations/{integration_id}").status_code == 404


@pytest.mark.keeps_sandbox
def test_progress_while_listing_shows_what_was_found_then_a_stable_total(app, db, procore_sandbox, world, signed_in,
                                                                         monkeypatch):
    """D1, issue 14: while the listing runs the page says "Listando… N encontrados" with no percentage and no
    time left; once the listing ends (recorded by the engine before the last downloads) the total is stable
    and the percentage shows; sizes and rates in the locale's units."""
    from portal.models import SyncRun
    from portal.sync.batches import SharedFetcher

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        run.status, run.files_total, run.files_done, run.bytes_done = "running", 7, 2, 1_234_567
        db.session.commit()
    page = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Listando… 7 archivos encontrados hasta ahora" in page and "1,2 MB" in page
    assert '<progress class="progress-bar" value=' not in page and "2 / 7" not in page

    seen = []
    flush = SharedFetcher.flush

    def flushed(self):  # called once the listing has ended, before the last downloads are awaited
        with app.app_context():
            seen.append(db.session.get(SyncRun, run_id).listing_complete)
        return flush(self)

    monkeypatch.setattr(SharedFetcher, "flush", flushed)
    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        run.status, run.files_total, run.files_done, run.bytes_done = "queued", 0, 0, 0
        db.session.commit()
    assert run_job(app, run_id) == "done" and seen == [True]
    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        run.status = "running"  # as the page saw it between the listing's end and the run's
        db.session.commit()
        total = run.files_total
    page = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Listando" not in page and f"{total} / {total}" in page and 'value="100"' in page


@pytest.mark.keeps_sandbox
def test_a_run_that_fails_raises_an_alert_and_a_repairing_refresh_another(app, db, procore_sandbox, world):
    """Issue 14: the engine's end of a run records the alert with it: a failed run (no valid Procore
    account left) and a refresh that repaired drift each give one alert for the company's admins."""
    from portal.models import Alert, ProcoreAccount, SyncItem
    from tests.sync.test_import_documents import new_run

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    with app.app_context():  # drift: one file's link forgotten, as if its event had been lost
        link = db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration_id,
                                                         SyncItem.procore_kind == "file")).first()
        db.session.delete(link)
        db.session.commit()
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    with app.app_context():
        db.session.get(ProcoreAccount, world.account_id).status = "revoked"
        db.session.commit()
    failing = new_run(app, db, integration_id)
    assert run_job(app, failing) == "failed"
    with app.app_context():
        alerts = [(a.kind, a.link) for a in db.session.scalars(select(Alert).order_by(Alert.id))]
    assert alerts == [("drift_repaired", f"/integrations/{integration_id}/runs/{refresh}"),
                      ("run_failed", f"/integrations/{integration_id}/runs/{failing}")]
