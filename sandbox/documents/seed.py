"""Demo documents trees (seeder, order 100) and the benchmark tree generator."""
from __future__ import annotations

import hashlib
import os
import random
import time
from contextlib import nullcontext

from ..core import clock
from . import service as svc
from ..core.api import Actor
from ..core.db import next_ids
from ..core.events import record_change, suppressed
from ..core.models import File, FileVersion, Folder
from ..core.seed import ADMIN_LOGIN, SeedContext, seeder
from ..core.storage import put_bytes


def tiny_pdf(text: str) -> bytes:
    """A small but valid one-page PDF showing ``text``."""
    safe = text.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + safe + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def _content(name: str, project_name: str, version: int) -> tuple[bytes, str]:
    label = f"{project_name} - {name} - versión {version}"
    if name.lower().endswith(".pdf"):
        return tiny_pdf(label), "application/pdf"
    if name == "vacío.txt":
        return b"", "text/plain"
    if name.lower().endswith(".csv"):
        csv = f"partida;cantidad;unidad\nHormigón H30;{120 * version};m3\nAcero A630;{8 * version};t\n"
        return csv.encode(), "text/csv"
    return (label + "\nDocumento de demostración del sandbox Procore.\n").encode(), "text/plain"


# (path of folder, file name, number of versions); "" = root folder
TREE = [
    ("01 Planos y Especificaciones/Arquitectura/Plantas", "Planta Nivel 1.pdf", 3),
    ("01 Planos y Especificaciones/Arquitectura/Plantas", "Planta Nivel 2.pdf", 1),
    ("01 Planos y Especificaciones/Arquitectura/Elevaciones", None, 0),
    ("01 Planos y Especificaciones/Estructuras", "Memoria de Cálculo.pdf", 2),
    ("01 Planos y Especificaciones/Estructuras/Detalles/Fundaciones", "Detalle zapata Z-1.pdf", 1),
    ("02 Contratos", "Contrato Principal – firmado.pdf", 1),
    ("02 Contratos/Anexos", "Anexo Nº 1 año 2024.txt", 2),
    ("03 Fotografías de Obra", None, 0),
    ("04 Informes Técnicos", "Informe mensual Enero.csv", 1),
    ("04 Informes Técnicos", "vacío.txt", 1),
    ("04 Informes Técnicos", "../informe?.pdf", 1),
    ("04 Informes Técnicos", "Niño & Cía – notas.txt", 1),
    ("", "Léame.txt", 1),
    # private (PRIVATE_FOLDERS): only Documents Admins see it and everything below it
    ("06 Confidencial", "Presupuesto reservado.csv", 1),
    ("06 Confidencial", "Acta directorio – confidencial.pdf", 2),
    ("06 Confidencial/Recursos Humanos", "Remuneraciones 2024.csv", 1),
    ("06 Confidencial/Recursos Humanos", "Evaluación de desempeño.txt", 1),
]

# Folders created private (the files and the subfolder inside them are not flagged
# themselves: they are hidden from non-admins because they lie below a private folder).
PRIVATE_FOLDERS = {"06 Confidencial"}


@seeder(order=100, name="documents")
def seed_documents(ctx: SeedContext) -> None:
    s, actor = ctx.session, ctx.actor(ADMIN_LOGIN)
    for project in ctx.projects.values():
        root, _bin = svc.ensure_roots(s, project)
        folders = {"": root.id}
        for path, fname, nversions in TREE:
            parent = ""
            for part in [p for p in path.split("/") if p]:
                cur = f"{parent}/{part}" if parent else part
                if cur not in folders:
                    folders[cur] = svc.create_folder(s, project, actor, part, folders[parent],
                                                     private=cur in PRIVATE_FOLDERS).id
                parent = cur
            if not fname:
                continue
            data, ct = _content(fname, project.name, 1)
            sha, size = put_bytes(data)
            f = svc.create_file(s, project, actor, name=fname, sha256=sha, size=size, content_type=ct,
                                parent_id=folders[path], description=f"Demo: {fname}")
            for n in range(2, nversions + 1):
                data, ct = _content(fname, project.name, n)
                sha, size = put_bytes(data)
                svc.add_file_version(s, project, f, actor, sha256=sha, size=size, content_type=ct,
                                     notes=f"Revisión {n}")
        # one item already in the recycle bin
        trash = svc.create_folder(s, project, actor, "Borradores antiguos", root.id)
        data, ct = _content("borrador.txt", project.name, 1)
        sha, size = put_bytes(data)
        svc.create_file(s, project, actor, name="borrador.txt", sha256=sha, size=size, content_type=ct,
                        parent_id=trash.id)
        svc.delete_folder(s, project, trash, actor)


def generate_tree(s, project, actor: Actor, *, files: int, total_mb: float, folders: int,
                  versions: int = 1, seed: int | None = None, events: bool = False) -> dict:
    """Create ``folders`` folders (random nesting, <= 6 deep) and ``files`` files totalling
    ~``total_mb`` MB of distinct pseudo-random content under a new "Benchmark <ts>" folder.

    Bulk path (no per-item name checks; names are unique by construction).  With
    ``events=True`` one create event is recorded per folder and file (none per version).
    """
    rnd = random.Random(seed)
    t0 = time.time()
    root, _bin = svc.ensure_roots(s, project)
    with (nullcontext() if events else suppressed()):
        top = svc.create_folder(s, project, actor, f"Benchmark {int(time.time() * 1000)}", root.id)
    ids = iter(next_ids(s, folders + files * (1 + 2 * max(versions, 1))))
    now, uid = clock.now(), actor.user_id
    pool, objs, new_folders, new_files = [(top.id, 1)], [], [], []
    for i in range(folders):
        parent, depth = rnd.choice([p for p in pool if p[1] < 6] or pool)
        f = Folder(id=next(ids), project_id=project.id, parent_id=parent, name=f"Carpeta {i + 1:05d} ñ",
                   created_at=now, updated_at=now, created_by_id=uid)
        objs.append(f)
        new_folders.append(f.id)
        pool.append((f.id, depth + 1))
    size_each = int(total_mb * 1024 * 1024 / max(files, 1))
    total = 0
    for i in range(files):
        name = f"archivo_{i + 1:06d} ü.bin"
        f = File(id=next(ids), project_id=project.id, parent_id=rnd.choice(pool)[0], name=name,
                 created_at=now, updated_at=now, created_by_id=uid)
        objs.append(f)
        new_files.append(f.id)
        for n in range(1, max(versions, 1) + 1):
            sha, size = put_bytes(_random_bytes(rnd, size_each, i * 1000 + n))
            total += size
            objs.append(FileVersion(id=next(ids), file_id=f.id, number=n, size=size, sha256=sha,
                                    content_type="application/octet-stream", filename=name,
                                    prostore_file_id=next(ids), created_at=now, created_by_id=uid))
    s.add_all(objs)
    s.flush()
    if events:
        for fid in new_folders:
            record_change(project.id, project.company_id, svc.RES_FOLDERS, "create", fid, uid, actor.application_id)
        for fid in new_files:
            record_change(project.id, project.company_id, svc.RES_FILES, "create", fid, uid, actor.application_id)
    return {"folder_id": top.id, "folders": folders + 1, "files": files, "bytes": total,
            "seconds": round(time.time() - t0, 3)}


def _random_bytes(rnd: random.Random, size: int, salt: int) -> bytes:
    if size <= 0:
        return b""
    head = hashlib.sha256(f"{salt}-{rnd.random()}".encode()).digest()
    return (head + os.urandom(max(0, size - len(head))))[:size]
