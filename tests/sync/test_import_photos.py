"""Importing Procore Photos into Imágenes/Procore against the sandbox (SPEC R10, R18, R19, R20), through
the real job function."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.media import album_images, albums, links_by_kind, photo_tree, start_tool
from tests.sync.test_import_documents import new_run, procore_folder, run_job, run_row


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox, hook=False)


def _cbox_file(app, db, integration_id, image_id):
    """(cBox file id, its folder's name) of a synced photo."""
    from portal.models import CboxFile, SyncItem

    with app.app_context():
        link = db.session.scalar(select(SyncItem).where(SyncItem.integration_id == integration_id,
                                                        SyncItem.procore_kind == "file",
                                                        SyncItem.procore_id == image_id))
        if link is None:
            return None
        file = db.session.get(CboxFile, link.cbox_file_id)
        return file.id, file.folder.original_name


@pytest.mark.keeps_sandbox
def test_albums_land_in_imagenes_procore_album_name_equal_by_sha256(app, db, procore_sandbox, world):
    """R10, R18: Imágenes/Procore/<Album>/<image name>, every selected album (Unclassified included, the private
    photo too for a Photos Admin), byte for byte what Procore serves; the recycled photo is not copied."""
    procore = Procore(procore_sandbox, world)
    by_name = albums(procore)
    assert set(by_name) == {"Unclassified", "Avance de obra", "Seguridad", "Fachada norte"}
    chosen = [album["id"] for album in by_name.values()]
    integration_id, run_id = start_tool(app, db, world, world.photos_id, {"albums": chosen})
    assert run_job(app, run_id) == "done"
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == photo_tree(procore, chosen)
    assert "Procore/Seguridad/Baranda perimetral.png" in got  # the private photo
    assert "Procore/Unclassified/IMG_0001.jpg" in got
    assert not any("Foto borrosa" in path for path in got)  # in Procore's recycle bin
    with app.app_context():
        from portal.models import CboxFolder, Integration

        integration = db.session.get(Integration, integration_id)
        procore_dir = db.session.get(CboxFolder, integration.procore_folder_id)
        assert (integration.tool, procore_dir.parent.original_name) == ("photos", "Imágenes")
    run = run_row(app, db, run_id)
    assert (run.imported, run.failed) == (8, 0)
    again = new_run(app, db, integration_id)
    assert run_job(app, again) == "done"
    assert (run_row(app, db, again).skipped, run_row(app, db, again).imported) == (8, 0)  # no versions: size decides


def test_a_photo_moved_to_a_synced_album_moves_and_to_another_album_leaves(app, db, procore_sandbox, world):
    """R19: moved to another synced album, the same cBox file moves there; moved to an album that is not
    synced, it leaves cBox."""
    procore = Procore(procore_sandbox, world)
    by_name = albums(procore)
    avance, seguridad, fachada = (by_name[name]["id"] for name in ("Avance de obra", "Seguridad", "Fachada norte"))
    integration_id, run_id = start_tool(app, db, world, world.photos_id, {"albums": [avance, seguridad]})
    assert run_job(app, run_id) == "done"
    photos = {image["filename"]: image["id"] for image in album_images(procore, avance)}
    stays, leaves = photos["Losa nivel 3 – hormigonado.jpg"], photos["Excavación fundaciones.jpg"]
    before = _cbox_file(app, db, integration_id, stays)
    assert before[1] == "Avance de obra" and _cbox_file(app, db, integration_id, leaves) is not None
    procore.send("PATCH", f"/rest/v1.0/images/{stays}", image={"image_category_id": seguridad})
    procore.send("PATCH", f"/rest/v1.0/images/{leaves}", image={"image_category_id": fachada})
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    assert _cbox_file(app, db, integration_id, stays) == (before[0], "Seguridad"), "same cBox file, moved"
    assert _cbox_file(app, db, integration_id, leaves) is None
    run = run_row(app, db, refresh)
    assert (run.imported, run.updated, run.deleted) == (0, 1, 1)
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == photo_tree(procore, [avance, seguridad])


@pytest.mark.parametrize("unclassified_synced", [True, False], ids=["unclassified-synced", "unclassified-not-synced"])
def test_a_deleted_albums_photos_leave_and_a_recovered_one_returns_only_via_unclassified(
        app, db, procore_sandbox, world, unclassified_synced):
    """R20: deleting an album sends its photos to the recycle bin: they leave cBox with the album. A photo
    recovered from the bin lands in Unclassified (its album is gone): it shows again only when Unclassified
    is synced."""
    procore = Procore(procore_sandbox, world)
    by_name = albums(procore)
    fachada, unclassified = by_name["Fachada norte"]["id"], by_name["Unclassified"]["id"]
    chosen = [fachada, unclassified] if unclassified_synced else [fachada]
    integration_id, run_id = start_tool(app, db, world, world.photos_id, {"albums": chosen})
    assert run_job(app, run_id) == "done"
    recovered = next(i["id"] for i in album_images(procore, fachada) if i["filename"] == "Fachada norte día 1.jpg")
    assert _cbox_file(app, db, integration_id, recovered)[1] == "Fachada norte"

    procore.send("DELETE", f"/rest/v1.0/image_categories/{fachada}")
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    assert run_row(app, db, refresh).deleted == 3, "the album folder and its two photos"
    tree = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert not any(path.startswith("Procore/Fachada norte") for path in tree)

    procore.send("POST", f"/rest/v1.0/images/{recovered}/retrieve")
    assert procore.get(f"/rest/v1.0/images/{recovered}")["image_category_id"] == unclassified
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    tree = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert tree == photo_tree(procore, chosen)
    back = "Procore/Unclassified/Fachada norte día 1.jpg"
    if unclassified_synced:
        assert back in tree and _cbox_file(app, db, integration_id, recovered)[1] == "Unclassified"
    else:
        assert not any("Fachada norte día 1" in path for path in tree)
        assert ("file", recovered) not in links_by_kind(app, db, integration_id)
