"""Demo Drawings data (seeder, order 210).

* Edificio Los Álamos: "Drawings by Area" ON with areas "Torre A" and "Torre B";
  every other active project: the single default area (named after the project).
* Disciplines Arquitectura / Estructura / Instalaciones, sets Licitación, Construcción,
  Addendum Nº 1.
* Drawings with several revisions: some published (the newest published one is current),
  one unpublished revision waiting to be published, one drawing with only an unpublished
  revision, one obsolete drawing, and one upload "pending review" (no drawing_id).
Tiny valid one-page PDFs (documents/seed.py tiny_pdf).
"""
from __future__ import annotations

from . import revision_service as rsvc
from . import service as svc
from .models import PUBLISHED, UNPUBLISHED
from ..core.seed import ADMIN_LOGIN, SeedContext, seeder
from ..documents.seed import tiny_pdf
from ..core.storage import put_bytes

DISCIPLINES = [("Arquitectura", ["A", "ARQ"]), ("Estructura", ["E", "EST"]), ("Instalaciones", ["I", "INS"])]
SETS = [("Licitación", "2024-03-01"), ("Construcción", "2024-06-15"), ("Addendum Nº 1", "2024-09-10")]
# number, title, discipline, obsolete, [(set index, revision number, status)]
DRAWINGS = [
    ("A-101", "Planta primer piso – sector oriente", "Arquitectura", False,
     [(0, "0", PUBLISHED), (1, "1", PUBLISHED), (2, "2", UNPUBLISHED)]),
    ("A-201", "Elevación norte", "Arquitectura", False, [(0, "0", PUBLISHED)]),
    ("E-101", "Fundaciones y zapatas", "Estructura", False, [(0, "0", PUBLISHED), (1, "1", PUBLISHED)]),
    ("E-102", "Losa nivel 2 (anulada)", "Estructura", True, [(0, "0", PUBLISHED)]),
    ("I-101", "Red de agua potable", "Instalaciones", False, [(1, "A", UNPUBLISHED)]),
]
DATES = ["2024-02-20", "2024-06-01", "2024-09-01"]


def _pdf(project, area, number, rev) -> tuple[str, int]:
    return put_bytes(tiny_pdf(f"{project.name} - {area.name} - {number} rev {rev}"))


def seed_area(s, project, actor, area, sets, drawings=DRAWINGS) -> None:
    for number, title, disc, obsolete, revisions in drawings:
        d = svc.create_drawing(s, project, actor, area, number=number, title=title, discipline_name=disc)
        for set_idx, rev, status in revisions:
            sha, size = _pdf(project, area, number, rev)
            rsvc.add_revision(s, project, actor, d, sha256=sha, size=size, set_id=sets[set_idx].id,
                             revision_number=rev, drawing_date=DATES[set_idx], received_date=DATES[set_idx],
                             filename=f"{number} {title}.pdf", status=status)
        if obsolete:
            svc.set_drawing_obsolete(s, project, d, actor, True)
    # an upload without drawing_id: a new drawing whose revision waits for review
    sha, size = _pdf(project, area, "I-102", "0")
    rsvc.create_drawing_upload(s, project, actor, area=area, dset=sets[2], imports=[
        {"sha256": sha, "size": size, "filename": "I-102 Alcantarillado.pdf", "drawing_date": DATES[2],
         "received_date": None, "default_revision": "0", "drawing_id": None}])


@seeder(order=210, name="drawings")
def seed_drawings(ctx: SeedContext) -> None:
    s, actor = ctx.session, ctx.actor(ADMIN_LOGIN)
    for key, project in ctx.projects.items():
        if not project.active:
            continue
        for name, abbr in DISCIPLINES:
            svc.ensure_discipline(s, project, name, abbr)
        sets = [svc.create_set(s, project, actor, name, d) for name, d in SETS]
        if key == "alamos":
            svc.set_drawings_by_area(s, project, True)
            torre_a = svc.ensure_default_area(s, project, name="Torre A")
            torre_b = svc.create_area(s, project, actor, "Torre B", "Edificio sur")
            seed_area(s, project, actor, torre_a, sets)
            seed_area(s, project, actor, torre_b, sets, DRAWINGS[:1] + DRAWINGS[2:3])
        else:  # the full log for Puente Río Claro, a shorter one elsewhere (keeps resets fast)
            seed_area(s, project, actor, svc.ensure_default_area(s, project), sets,
                      DRAWINGS if key == "rio_claro" else DRAWINGS[:1] + DRAWINGS[3:4])
