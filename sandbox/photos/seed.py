"""Demo Photos data (seeder, order 200): per active project the albums "Unclassified",
"Avance de obra", "Seguridad" and "Fachada norte" with small real JPEG/PNG pictures
(generated in pure Python), one private photo and one photo in the recycle bin."""
from __future__ import annotations

import calendar
import zlib

from . import service as svc
from .media import make_jpeg, make_png
from ..core.seed import ADMIN_LOGIN, SeedContext, seeder
from ..core.storage import put_bytes

# album -> [(file name, description, kind, private)]
ALBUMS = [
    ("Unclassified", [("IMG_0001.jpg", "Llegada de materiales", "jpg", False)]),
    ("Avance de obra", [("Losa nivel 3 – hormigonado.jpg", "Hormigonado de losa, sector oriente", "jpg", False),
                        ("Excavación fundaciones.jpg", "Excavación a cota -3,5 m", "jpg", False),
                        ("Moldajes muros.png", "Moldajes muros eje B", "png", False)]),
    ("Seguridad", [("Charla de 5 minutos.jpg", "Charla diaria de seguridad – señalética", "jpg", False),
                   ("Baranda perimetral.png", "Baranda perimetral piso 4", "png", True)]),
    ("Fachada norte", [("Fachada norte día 1.jpg", "Avance fachada norte, vista general", "jpg", False),
                       ("Fachada norte detalle ventana.jpg", "Detalle ventana tipo V-2 (año 2024)", "jpg", False)]),
]
BINNED = ("Foto borrosa.jpg", "Foto descartada (en la papelera)", "Avance de obra")


def _picture(seed: str, kind: str) -> bytes:
    h = zlib.crc32(seed.encode("utf-8"))
    base = ((h >> 16) & 0xFF, (h >> 8) & 0xFF, h & 0xFF)
    if kind == "png":
        return make_png(24, 16, lambda x, y: ((base[0] + 9 * x) % 256, (base[1] + 13 * y) % 256, base[2]),
                        text=seed)
    return make_jpeg(48, 32, lambda bx, by: ((base[0] + 40 * bx) % 256, (base[1] + 50 * by) % 256, base[2]),
                     comment=seed)


@seeder(order=200, name="photos")
def seed_photos(ctx: SeedContext) -> None:
    s, actor = ctx.session, ctx.actor(ADMIN_LOGIN)
    taken = calendar.timegm((2024, 5, 6, 9, 30, 0))
    for project in ctx.projects.values():
        if not project.active:
            continue
        n = 0
        for album_name, photos in ALBUMS:
            album = svc.ensure_unclassified(s, project) if album_name == "Unclassified" else \
                svc.create_album(s, project, actor, album_name)
            for fname, desc, kind, private in photos:
                n += 1
                sha, size = put_bytes(_picture(f"{project.name} / {album_name} / {fname}", kind))
                svc.create_image(s, project, actor, sha256=sha, size=size, filename=fname, category_id=album.id,
                                 description=desc, private=private, taken_at=taken + 86400 * n)
        fname, desc, album_name = BINNED
        album = next(a for a in svc.albums_of(s, project) if a.name == album_name)
        sha, size = put_bytes(_picture(f"{project.name} / {fname}", "jpg"))
        img = svc.create_image(s, project, actor, sha256=sha, size=size, filename=fname, category_id=album.id,
                               description=desc)
        svc.delete_image(s, project, img, actor)
