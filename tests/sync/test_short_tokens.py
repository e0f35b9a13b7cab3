"""Ten-second access tokens (issue 10; SPEC R34; RELIABILITY 17, 19, 21) against the sandbox.

Before the fix, opening the import page answered 500 "database is locked": the gate's webhook check
flushed a HookCheck row (SQLite's write lock, held by the request) and the next Procore call refreshed
the token, whose new pair could not be saved in its own session; Procore had already consumed the old
refresh token, so the next call sent a used one and the account needed a new login. A 60-second refresh
margin also refreshed a 10-second token before every call.

Here Procore's clock (the sandbox's) is moved past every token's expiry again and again: before the page,
between the gate's check and the folder tree (the issue's race), when an import starts and after its
first download. Each expiry costs exactly one refresh; every refresh token is presented once.
"""
from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from tests.sync.helpers import ADMIN, Procore, after_first_file, cbox_tree, make_world

TOKEN_LIFETIME = 10
EXPIRE = TOKEN_LIFETIME + 1  # moving Procore's clock this far expires every token issued so far
MARGIN = TOKEN_LIFETIME / 10  # the portal refreshes a token in its last tenth (1 s)


def start_import(app, db, world, folder_id: int) -> tuple[int, int]:
    """An integration of the whole project and its first run, committed; the test runs the job itself."""
    from portal.models import CboxFolder, ProcoreAccount, User
    from portal.sync import gate, service

    with app.app_context():
        user, account = db.session.get(User, world.user_id), db.session.get(ProcoreAccount, world.account_id)
        integration, run = service.create_integration(
            user, account, db.session.get(CboxFolder, world.documents_id),
            gate.Verdict(world.project_id, "Hospital Regional Ñuñoa"), [folder_id], [])
        db.session.commit()
        return integration.id, run.id


@pytest.mark.keeps_sandbox
def test_ten_second_tokens_import_page_and_import(app, db, procore_sandbox, client, login_as, monkeypatch):
    from portal.models import AccountStatus, Integration, ProcoreAccount, SyncRun
    from portal.sync import gate
    from portal.sync.jobs import run_sync

    sb = procore_sandbox
    sb.control({"token_lifetime": TOKEN_LIFETIME})
    monkeypatch.setitem(app.config, "HOOK_CHECK_MAX_AGE", 0)  # every page checks the hook afresh (a HookCheck row)
    started = time.monotonic()
    world = make_world(app, db, sb)  # its pair is a 10-second Procore token
    login_as(SimpleNamespace(email="admin@demo.test"))
    before = sb.stats()
    expiries, statuses = 0, []
    page = f"/integrations/new?folder_id={world.documents_id}&project_id={world.project_id}"

    def expire():
        nonlocal expiries
        sb.advance_clock(EXPIRE)
        expiries += 1

    def open_page():
        response = client.get(page)
        statuses.append(response.status_code)
        assert 'name="folder_ids"' in response.get_data(as_text=True) or response.status_code != 200

    for _ in range(3):  # expired before the page: its first call meets a 401 and refreshes
        expire()
        open_page()
        open_page()

    hook_block = gate.hook_block

    def gate_then_expire(*args, **kwargs):
        reason = hook_block(*args, **kwargs)  # the webhook part of the gate (it may record a HookCheck row)
        expire()  # so the next call, the folder tree, refreshes: the 500
        return reason

    monkeypatch.setattr(gate, "hook_block", gate_then_expire)
    for _ in range(3):
        open_page()
    monkeypatch.setattr(gate, "hook_block", hook_block)

    oracle = Procore(sb, replace(world, token=sb.token(ADMIN, expires_in=3600)["access_token"]))  # its own grant
    root_id = oracle.root()["id"]
    integration_id, run_id = start_import(app, db, world, root_id)
    after_first_file(monkeypatch, sb, expire)  # expired again in the middle of the downloads
    expire()  # and when the job starts
    with app.app_context():
        assert run_sync(run_id) == "done"
    elapsed = time.monotonic() - started

    stats = sb.stats()
    refreshed = stats.get("tokens_refreshed", 0) - before.get("tokens_refreshed", 0)
    reused = stats.get("refresh_token_reused", 0) - before.get("refresh_token_reused", 0)
    print(f"\nshort tokens: {expiries} expiries, {refreshed} refreshes, {reused} reused refresh tokens, "
          f"{stats.get('unauthorized_401', 0)} 401s, page statuses {statuses}, {elapsed:.1f} s")
    assert statuses == [200] * 9  # no 5xx, no detour to the Procore login
    assert reused == 0  # each refresh token presented once
    # Every expiry needs one refresh. Beyond those, a token is refreshed only in its last tenth: at most
    # once per (lifetime - margin) seconds of the test; a 60-second margin would refresh before every call.
    assert expiries <= refreshed <= expiries + int(elapsed / (TOKEN_LIFETIME - MARGIN)) + 1
    with app.app_context():
        account = db.session.get(ProcoreAccount, world.account_id)
        assert (account.status, account.last_error) == (AccountStatus.VALID, None)
        run = db.session.get(SyncRun, run_id)
        assert (run.files_done, run.imported, run.failed) == (run.files_total, run.files_total, 0)
        folder_id = db.session.get(Integration, integration_id).procore_folder_id
    assert cbox_tree(app, db, folder_id) == oracle.tree(root_id, "Procore")
