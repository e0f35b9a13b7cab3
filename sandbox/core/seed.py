"""Demo data and the seeding registry.

Other modules add data with::

    from sandbox.core.seed import seeder

    @seeder(order=200)                      # core=10, documents=100
    def seed_photos(ctx):                   # ctx: SeedContext
        for key, project in ctx.projects.items():
            ...  # ctx.session, ctx.actor("admin@constructora.test"), ctx.users[...]

Seeders run inside one transaction with events suppressed (seeding must not trigger
webhooks).  They run on first start with an empty DB and on POST /_sandbox/reset.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from . import clock
from .api import Actor
from .db import create_schema, drop_schema, session_scope
from .events import suppressed
from .models import (ADMIN, NONE, READ_ONLY, STANDARD, Company, CompanyUser, Permission, Project,
                     ProjectUser, User)
from .state import state

SEEDERS: list[tuple[int, str, object]] = []


def seeder(order: int = 100, name: str | None = None):
    def deco(fn):
        key = name or f"{fn.__module__}.{fn.__name__}"
        if all(n != key for _o, n, _f in SEEDERS):
            SEEDERS.append((order, key, fn))
        return fn
    return deco


@dataclass
class SeedContext:
    session: object
    config: dict
    companies: dict = field(default_factory=dict)   # key -> Company
    users: dict = field(default_factory=dict)       # login -> User
    projects: dict = field(default_factory=dict)    # key -> Project
    extra: dict = field(default_factory=dict)       # free space for modules

    def actor(self, login: str = "admin@constructora.test") -> Actor:
        return Actor(self.users[login].id, None)


def run_all() -> SeedContext:
    st = state()
    with session_scope(st.engine) as s, suppressed():
        ctx = SeedContext(session=s, config=st.config)
        for _order, _name, fn in sorted(SEEDERS, key=lambda t: t[0]):
            fn(ctx)
            s.flush()
    return ctx


def reset_all(seed: bool = True) -> None:
    """Drop every table, clear blobs, recreate the schema and (optionally) re-seed."""
    st = state()
    with st.lock:
        drop_schema(st.engine)
        shutil.rmtree(st.blob_dir, ignore_errors=True)
        os.makedirs(st.blob_dir, exist_ok=True)
        create_schema(st.engine)
        from .db import set_meta
        with session_scope(st.engine) as s:
            set_meta(s, "storage_secret", st.secret.decode())
        st.stats.reset()
        st.limiter.reset()
        if seed:
            run_all()


# --- core demo data -------------------------------------------------------------

ADMIN_LOGIN = "admin@constructora.test"
USERS = [
    (ADMIN_LOGIN, "Ana Álvarez (Admin)"),
    ("estandar@constructora.test", "Esteban Muñoz (Estándar)"),
    ("sinadmin@constructora.test", "Sofía Núñez (Sin Admin)"),
    ("lector@constructora.test", "Lucía Peña (Solo lectura)"),
    ("sinempresa@otra.test", "Nicolás Ibáñez (Sin empresa)"),
]
ALL_TOOLS = ("admin", "directory", "documents", "photos", "drawings")


def _grant(ctx, login, company, project, levels: dict):
    s = ctx.session
    uid = ctx.users[login].id
    if project is not None:
        s.add(ProjectUser(project_id=project.id, user_id=uid))
    for tool, level in levels.items():
        s.add(Permission(user_id=uid, company_id=company.id, project_id=project.id if project else None,
                         tool=tool, level=level))


@seeder(order=10, name="core")
def seed_core(ctx: SeedContext) -> None:
    s, now = ctx.session, clock.now()
    for login, name in USERS:
        ctx.users[login] = User(login=login, name=name)
    for c in ctx.config["oauth_clients"]:
        if c.get("service_account"):
            ctx.users[c["service_account"]] = User(login=c["service_account"], name=f"{c['name']} (DMSA)",
                                                   service_client_id=c["client_id"])
    ctx.companies["demo"] = Company(name="Constructora Demo")
    ctx.companies["sur"] = Company(name="Inmobiliaria Sur")
    s.add_all(list(ctx.users.values()) + list(ctx.companies.values()))
    s.flush()
    demo, sur = ctx.companies["demo"], ctx.companies["sur"]
    specs = [("alamos", demo, "Edificio Los Álamos", "EA-001", "Av. Los Álamos 1234", "Santiago", True),
             ("nunoa", demo, "Hospital Regional Ñuñoa", "HR-002", "Irarrázaval 4550", "Ñuñoa", True),
             ("rio_claro", demo, "Puente Río Claro", "PR-003", "Ruta 5 Sur km 210", "Talca", True),
             ("bodega", demo, "Bodega Antigua (cerrado)", "BA-000", "Camino Viejo s/n", "Maipú", False),
             ("vista_sur", sur, "Condominio Vista Sur", "VS-101", "Los Carrera 77", "Concepción", True)]
    admin_id = ctx.users[ADMIN_LOGIN].id
    for key, comp, name, number, addr, city, active in specs:
        ctx.projects[key] = Project(company_id=comp.id, name=name, display_name=f"{number} - {name}",
                                    project_number=number, address=addr, city=city, state_code=None,
                                    country_code="CL", zip=None, time_zone="America/Santiago",
                                    active=active, created_at=now, updated_at=now, created_by_id=admin_id)
    s.add_all(ctx.projects.values())
    s.flush()
    for comp in (demo, sur):
        s.add(CompanyUser(company_id=comp.id, user_id=admin_id))
        _grant(ctx, ADMIN_LOGIN, comp, None, {"admin": ADMIN, "directory": ADMIN})
    for login in ("estandar@constructora.test", "sinadmin@constructora.test", "lector@constructora.test"):
        s.add(CompanyUser(company_id=demo.id, user_id=ctx.users[login].id))
    _grant(ctx, "estandar@constructora.test", demo, None, {"admin": STANDARD, "directory": STANDARD})
    _grant(ctx, "sinadmin@constructora.test", demo, None, {"admin": STANDARD, "directory": ADMIN})
    _grant(ctx, "lector@constructora.test", demo, None, {"admin": NONE, "directory": READ_ONLY})
    for key, project in ctx.projects.items():
        comp = demo if project.company_id == demo.id else sur
        _grant(ctx, ADMIN_LOGIN, comp, project, {t: ADMIN for t in ALL_TOOLS})
        if comp is demo:
            if key in ("alamos", "nunoa", "bodega"):  # NOT on Puente Río Claro
                _grant(ctx, "estandar@constructora.test", demo, project, {t: STANDARD for t in ALL_TOOLS})
            _grant(ctx, "sinadmin@constructora.test", demo, project,
                   {"admin": STANDARD, "directory": STANDARD, "documents": ADMIN, "photos": ADMIN,
                    "drawings": ADMIN})
            if key == "alamos":
                _grant(ctx, "lector@constructora.test", demo, project,
                       {"admin": NONE, "directory": READ_ONLY, "documents": READ_ONLY, "photos": NONE,
                        "drawings": NONE})
    # Developer Managed Service Accounts: installed in Constructora Demo, active projects.
    for c in ctx.config["oauth_clients"]:
        login = c.get("service_account")
        if not login:
            continue
        s.add(CompanyUser(company_id=demo.id, user_id=ctx.users[login].id))
        _grant(ctx, login, demo, None, {"admin": NONE, "directory": READ_ONLY})
        for project in ctx.projects.values():
            if project.company_id == demo.id and project.active:
                _grant(ctx, login, demo, project, {"admin": STANDARD, "directory": READ_ONLY,
                                                   "documents": ADMIN, "photos": ADMIN, "drawings": ADMIN})
