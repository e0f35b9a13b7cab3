"""Issue 16 (layers): a view module (one that makes a Blueprint) never imports another view module; what
several views share lives below them (portal/connections/accounts.py: the signed-in user's Procore account,
who may connect) or in portal/views/__init__.py, and a blueprint's own request helpers sit beside it
(portal/views/cbox_web.py). The cBox store knows no Flask request."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted((ROOT / "portal" / "views").glob("*.py")) + [ROOT / "portal" / "webhooks" / "views.py"]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _is_blueprint(path: Path) -> bool:
    return "Blueprint(" in path.read_text(encoding="utf-8")


def test_no_view_imports_another_view():
    view_modules = {f"portal.views.{p.stem}" for p in VIEWS if p.parent.name == "views" and _is_blueprint(p)}
    view_modules.add("portal.webhooks.views")
    offenders = {str(path.relative_to(ROOT)): sorted(_imported(path) & (view_modules - {
        f"portal.views.{path.stem}" if path.parent.name == "views" else "portal.webhooks.views"}))
        for path in VIEWS if path.stem != "__init__"}
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_cbox_store_uses_no_flask_request():
    """The store, blobs, trash and permissions are called by views, jobs and the CLI alike."""
    offenders = {}
    for path in sorted((ROOT / "portal" / "cbox").glob("*.py")):
        found = {name for name in _imported(path) if name.startswith("flask.") and name.split(".")[-1] in (
            "request", "session", "g", "redirect", "url_for", "flash", "abort", "send_file", "render_template")}
        found |= {name for name in _imported(path) if name.startswith("flask_login")}
        if found:
            offenders[path.name] = sorted(found)
    assert offenders == {}
