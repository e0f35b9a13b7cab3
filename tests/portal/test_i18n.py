"""Spanish by default, English on the switch, and no untranslated Spanish string (SPEC D4)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]


def test_default_language_is_spanish_and_switch_to_english_and_back(client):
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in" in html and '<html lang="en">' in html
    client.post("/language", data={"lang": "es", "next": "/login", "csrf_token": csrf_token(client)})
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client)})
    assert '<html lang="es">' in client.get("/login").get_data(as_text=True)


def test_every_string_in_the_code_has_a_spanish_translation(tmp_path):
    """Extract the messages now and compare with the Spanish catalog: nothing missing or empty."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot.open("rb")) if m.id}
    with (ROOT / "portal/translations/es/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, (tuple, list)) else m.string)
    }
    missing = sorted(wanted - translated)
    assert not missing, "run `make extract-messages` and translate in es/messages.po: " + repr(missing[:20])


# The portal addresses the user as "usted" (issue 14): no "tú" form in the Spanish catalog, the templates or
# the portal's own scripts. Forms that are never formal are refused anywhere; imperatives that also read as a
# third person ("«Procore › Actualizar» vuelve a igualar…") only where a clause starts.
INFORMAL = ("tú", "tu", "tus", "te", "ti", "contigo", "tuyo", "tuya", "tuyos", "tuyas", "eres", "estás", "tienes",
            "puedes", "quieres", "necesitas", "debes", "sabes", "haces", "vas", "has", "haz", "elige", "escoge",
            "selecciona", "pulsa", "expande", "reanuda", "pide", "intenta", "inténtalo", "pídelo", "revísalo",
            "hazlo", "asegúrate", "conéctate", "déjala", "déjalo", "déjalas", "déjalos")
INFORMAL_AT_CLAUSE_START = ("vuelve", "conecta", "revisa", "espera", "usa", "abre", "sube", "crea", "elimina",
                            "añade", "agrega", "cierra", "inicia", "comprueba", "repara", "cancela", "guarda",
                            "confirma", "marca", "escribe", "contacta", "recarga", "ingresa", "actualiza",
                            "descarga", "desconecta", "prueba", "mira", "ve")
_INFORMAL = re.compile(r"(?<!\w)(?:%s)(?!\w)" % "|".join(INFORMAL), re.IGNORECASE)
_INFORMAL_START = re.compile(r"(?:^|[.;:!?]\s+|[¡¿(«“\"—]\s*)(?:%s)(?!\w)" % "|".join(INFORMAL_AT_CLAUSE_START),
                             re.IGNORECASE | re.MULTILINE)


def informal_forms(text: str, english_source: bool = False) -> list[str]:
    """The "tú" forms in a text; in English sources (templates, code) "has" is English."""
    found = [m.group(0) for m in _INFORMAL.finditer(text) if not (english_source and m.group(0).lower() == "has")]
    return found + [m.group(0).strip(" .;:!?¡¿(«“\"—") for m in _INFORMAL_START.finditer(text)]


def test_the_informal_form_detector_tells_tu_from_usted():
    for informal in ("Elige al menos una carpeta.", "No puedes editar la carpeta.", "Tu usuario no tiene permiso.",
                     "Procore no respondió; inténtalo de nuevo.", "Deteniendo; reanuda para continuar.",
                     "1. Elige el proyecto", "No eres miembro.", "Te falta un permiso.",
                     "Falta algo. Vuelve a empezar."):
        assert informal_forms(informal), informal
    for formal in ("Elija al menos una carpeta.", "No puede editar la carpeta.", "Su usuario no tiene permiso.",
                   "Procore no respondió; inténtelo de nuevo.", "Le falta un permiso.", "No es miembro.",
                   "“Procore › Actualizar” vuelve a igualar ambos lados.", "Un administrador conecta una cuenta.",
                   "%(count)s tareas en espera", "This company has no members yet."):
        assert not informal_forms(formal, english_source=True), formal


def test_spanish_speaks_as_usted_never_tu():
    with (ROOT / "portal/translations/es/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        for text in (message.string if isinstance(message.string, (tuple, list)) else [message.string]):
            if text and informal_forms(text):
                found.append((informal_forms(text), text))
    sources = [*ROOT.glob("templates/**/*.html"), ROOT / "static/js/app.js", ROOT / "static/js/cbox.js"]
    for path in sources:
        if informal_forms(path.read_text(encoding="utf-8"), english_source=True):
            found.append((informal_forms(path.read_text(encoding="utf-8"), english_source=True), str(path)))
    assert not found, found


def test_runs_read_as_one_family_of_words_never_as_codes(app):
    """Every run status and kind the pages show, in the feminine of "la ejecución" (issue 14)."""
    from portal.models import integrations as model
    from portal.sync import states

    statuses = (model.QUEUED, model.RUNNING, model.STOPPING, model.STOPPED, model.DONE, model.FAILED, model.AWAITING,
                model.CANCELLED, model.SUPERSEDED)
    with app.test_request_context("/"):
        assert [states.run_status(status)[0] for status in statuses] == [
            "En cola", "En curso", "Deteniéndose", "Detenida", "Terminada", "Fallida", "A la espera de confirmación",
            "Cancelada", "Reemplazada"]
        assert [states.run_kind(kind) for kind in (model.IMPORT, model.REFRESH, model.EVENT, model.EXPORT)] == [
            "Importación", "Actualización", "Cambios desde Procore", "Exportación"]


def test_run_summaries_say_one_in_the_singular(app):
    """ "1 exportado", never "1 exportados": every count of a run summary goes through ngettext (issue 14)."""
    from flask_babel import force_locale

    from portal.sync import states

    run = SimpleNamespace(imported=1, updated=2, skipped=0, failed=1, deleted=1)
    with app.test_request_context("/"):
        assert states.run_summary(run) == \
            "1 importado, 2 actualizados, 0 omitidos (ya al día), 1 con error, 1 eliminado."
        assert states.run_summary(run, export=True) == ("1 exportado, 2 actualizados en Procore, 0 sin cambios o no "
                                                        "exportados (no son imágenes), 1 con error, 1 retirado de "
                                                        "Procore.")
        assert states.run_summary(run, short=True) == "1 importado, 2 actualizados, 1 con error"
        many = SimpleNamespace(imported=3, updated=1, skipped=1, failed=2, deleted=0)
        assert states.run_summary(many, export=True) == ("3 exportados, 1 actualizado en Procore, 1 sin cambios o no "
                                                         "exportado (no es una imagen), 2 con errores, 0 retirados de "
                                                         "Procore.")
        with force_locale("en"):
            assert states.run_summary(run) == \
                "1 imported, 2 updated, 0 skipped (already up to date), 1 failed, 1 deleted."


@pytest.mark.parametrize("queued, shown", [(1, "1 tarea en espera"), (3, "3 tareas en espera")])
def test_the_dashboard_counts_jobs_in_the_singular_and_plural(client, login_as, make_company, make_user, monkeypatch,
                                                              queued, shown):
    from portal.views import dashboard

    login_as(make_user("ana@a.test", "admin", make_company()))
    monkeypatch.setattr(dashboard, "_background_status", lambda: {"ok": True, "workers": 1, "queued": queued})
    page = client.get("/").get_data(as_text=True)
    assert shown in page and "Procesos en segundo plano activos" in page and "worker" not in page.lower()
