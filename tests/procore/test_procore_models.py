"""Payload models: ids, datetimes, required fields, permissions, secrets in repr."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from portal.procore import (Delivery, DocumentIndexItem, DrawingRevision, File, Folder, Hook,
                            Image, PermissionManifest, ProcoreBadResponse, Project, TokenPair,
                            Trigger, Upload)

BIG = 2 ** 53 + 12345  # beyond 32 bits and beyond float precision


def test_64_bit_ids_parse_from_ints_and_strings():
    project = Project.from_api({"id": BIG, "name": "Tower", "company": {"id": str(BIG + 1)}})
    assert project.id == BIG and isinstance(project.id, int)
    assert project.company_id == BIG + 1
    trigger = Trigger.from_api({"id": str(BIG), "webhook_hook_id": BIG,
                                "resource_name": "Project Files", "event_type": "CREATE"})
    assert trigger.id == BIG and trigger.hook_id == BIG and trigger.event_type == "create"


@pytest.mark.parametrize("bad", [True, "12a", 1.5, None, {"id": 1}])
def test_bad_ids_are_rejected(bad):
    with pytest.raises(ProcoreBadResponse):
        Project.from_api({"id": bad, "name": "x"})


def test_missing_required_field_raises_bad_response():
    with pytest.raises(ProcoreBadResponse, match="name"):
        File.from_api({"id": 1})
    with pytest.raises(ProcoreBadResponse):
        Folder.from_api(["not", "an", "object"])


def test_datetimes_are_aware_utc():
    f = File.from_api({"id": 1, "name": "a.pdf", "updated_at": "2024-05-01T10:00:00Z",
                       "created_at": "2024-05-01T12:00:00+02:00"})
    assert f.updated_at == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert f.created_at == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert f.created_at.tzinfo is not None
    with pytest.raises(ProcoreBadResponse):
        File.from_api({"id": 1, "name": "a", "updated_at": "yesterday"})


def test_folder_tree_flags_and_file_versions():
    folder = Folder.from_api({
        "id": 10, "name": "Plans", "parent_id": 1, "is_recycle_bin": False,
        "folders": [{"id": 11, "name": "Sub", "folders": [], "files": [], "has_children": True}],
        "files": [{"id": 20, "name": "a.pdf", "is_deleted": True, "file_versions": [
            {"id": 1, "number": 1, "url": "https://api.procore.test/v1", "size": 3},
            {"id": 2, "number": 2, "prostore_file": {"url": "https://s/2", "filesize": 7},
             "created_at": "2024-01-01T00:00:00Z"}]}]})
    assert folder.has_children and folder.folders[0].has_children
    assert folder.files[0].is_deleted
    current = folder.files[0].current_version
    assert (current.id, current.url, current.size) == (2, "https://s/2", 7)
    root = Folder.from_api({"id": 1, "name": None, "is_recycle_bin": "true"})
    assert root.is_recycle_bin and root.name == "" and not root.has_children


def test_document_index_item():
    item = DocumentIndexItem.from_api({"id": "42", "name": "a.pdf", "document_type": "file",
                                       "parent_id": 7, "file": {"file_type": "pdf"},
                                       "is_deleted": False})
    assert (item.id, item.parent_id, item.file_type, item.is_folder) == (42, 7, "pdf", False)


def test_token_pair_repr_hides_tokens():
    pair = TokenPair.from_api({"access_token": "SECRET-ACCESS", "refresh_token": "SECRET-REF",
                               "expires_in": 5400, "created_at": 1_700_000_000})
    for text in (repr(pair), str(pair), f"{pair}", repr([pair])):
        assert "SECRET" not in text
    assert pair.created_at == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert TokenPair.from_dict(pair.to_dict()) == pair


def test_token_response_validation():
    with pytest.raises(ProcoreBadResponse):
        TokenPair.from_api({"access_token": "a", "expires_in": 5400})  # no refresh token
    with pytest.raises(ProcoreBadResponse):
        TokenPair.from_api({"refresh_token": "r", "expires_in": 5400})
    with pytest.raises(ProcoreBadResponse):
        TokenPair.from_api({"access_token": "a", "refresh_token": "r"})
    dmsa = TokenPair.from_api({"access_token": "a", "expires_in": 60}, require_refresh=False)
    assert dmsa.refresh_token is None


def test_permission_manifest_aliases_and_levels():
    manifest = PermissionManifest.from_api({"tools": [
        {"id": 1, "name": "admin", "friendly_name": "Admin",
         "user_access_level": {"id": 4, "name": "Admin"}},
        {"id": 2, "name": "document_management", "friendly_name": "Documents",
         "user_access_level": {"name": "read_only"}},
        {"id": 3, "name": "images", "friendly_name": "Photos",
         "user_access_level": {"name": "STANDARD"}},
        {"id": 4, "name": "drawing_log", "friendly_name": "Drawings",
         "user_access_level": {"name": "Admin"}, "available_for_user": False},
        {"id": 5, "name": "weird", "user_access_level": {"name": "Superuser"}},
    ]})
    assert manifest.is_admin("admin") and manifest.is_admin("Admin")
    assert manifest.level("documents") == "Read Only"
    assert manifest.level("photos") == "Standard"
    assert manifest.level("drawings") == "None"  # not available for the user
    assert manifest.level("directory") == "None"  # absent
    assert manifest.level("weird") == "None"  # unknown level fails closed
    assert manifest.at_least("photos", "Read Only") and not manifest.at_least("photos", "Admin")
    with pytest.raises(ProcoreBadResponse):
        PermissionManifest.from_api({"nope": []})


def test_hook_masks_authorization_header():
    hook = Hook.from_api({"id": 5, "namespace": "cbox-procore", "api_version": "v2",
                          "destination_url": "https://portal/x",
                          "destination_headers": {"Authorization": "Bearer supersecretvalue"},
                          "owned_by_project_id": BIG})
    assert "supersecret" not in repr(hook)
    assert hook.authorization_masked.endswith("value")
    assert hook.owned_by_project_id == BIG


def test_delivery_and_revision_and_image_and_upload():
    d = Delivery.from_api({"id": 9, "event_id": 3, "outcome": "failed", "response_status": 500,
                           "started_at": "2024-01-01T00:00:00Z", "event": {"id": 3}})
    assert d.outcome == "failed" and d.event["id"] == 3 and d.started_at.tzinfo
    rev = DrawingRevision.from_api({"id": 1, "current": True, "obsolete": False,
                                    "drawing_area": {"id": 4}, "drawing_set": {"id": 5},
                                    "discipline": {"id": 6, "name": "Arch"},
                                    "pdf_url": "https://x", "pdf_size": "100",
                                    "drawing_date": "2024-02-03"})
    assert (rev.drawing_area_id, rev.drawing_set_id, rev.discipline.name, rev.pdf_size) == (
        4, 5, "Arch", 100)
    img = Image.from_api({"id": 1, "filename": "a.jpg", "image_category_id": "12"})
    assert img.image_category_id == 12
    up = Upload.from_api({"uuid": "u1", "url": "https://storage.example.com/b",
                          "fields": {"key": "k", "policy": "p"}})
    assert up.fields == (("key", "k"), ("policy", "p"))
    with pytest.raises(ProcoreBadResponse):
        Upload.from_api({"url": "https://storage.example.com/b"})  # no uuid
