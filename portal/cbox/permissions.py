"""Who may see and edit what in cBox (SPEC R32, RELIABILITY 28).

Company users (admin, member) see their own company's projects; support (and superadmin) read
every company's, never edit. Editing a categorized folder's tree needs the company admin role
or a per-user grant on that categorized folder, set by the company admin. Functions flush only.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal.cbox.errors import CboxError
from portal.extensions import db
from portal.models import CboxFile, CboxFolder, CboxFolderEditor, Role, User


def categorized_root(item) -> CboxFolder:
    """The categorized folder (Documentos, Imágenes, Planos) above `item`."""
    node = item.folder if isinstance(item, CboxFile) else item
    while node.parent is not None:
        node = node.parent
    return node


def can_edit(user, item) -> bool:
    """R32: admins of the owning company always; members with a grant on the categorized folder."""
    if not user.is_authenticated or user.company_id != item.project.company_id:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.MEMBER:
        return False
    root = categorized_root(item)
    return db.session.scalar(select(CboxFolderEditor.id).where(CboxFolderEditor.folder_id == root.id,
                                                               CboxFolderEditor.user_id == user.id)) is not None


def editor_ids(folder: CboxFolder) -> set[int]:
    return set(db.session.scalars(select(CboxFolderEditor.user_id).where(CboxFolderEditor.folder_id == folder.id)))


def company_members(company_id: int) -> list[User]:
    """The people a company admin can grant edit rights to (admins edit anyway)."""
    return list(db.session.scalars(select(User).where(User.company_id == company_id, User.role == Role.MEMBER,
                                                      User.active.is_(True)).order_by(User.email)))


def set_editors(folder: CboxFolder, user_ids: set[int]) -> None:
    """Replace the members who may edit categorized `folder` with `user_ids`."""
    if not folder.is_categorized:
        raise CboxError(_l("Edit permissions are set on the categorized folders only."))
    allowed = {user.id for user in company_members(folder.project.company_id)}
    unknown = set(user_ids) - allowed
    if unknown:
        raise CboxError(_l("Only members of this company can be given edit permission."))
    db.session.execute(delete(CboxFolderEditor).where(CboxFolderEditor.folder_id == folder.id))
    for user_id in sorted(user_ids):
        db.session.add(CboxFolderEditor(folder_id=folder.id, user_id=user_id))
    db.session.flush()
