"""Identity, companies, projects and permission manifests."""
from __future__ import annotations

from typing import Iterator

from .models import Company, Me, PermissionManifest, Project


class CoreAPI:
    def me(self, company_id: int | None = None) -> Me:
        # Procore: /me needs no company header for user tokens, but DMSA
        # (client-credentials) tokens require it; send it when we know it.
        return Me.from_api(self.request("GET", "/rest/v1.0/me", company_id=company_id))

    def companies(self, company_id: int | None = None) -> Iterator[Company]:
        return self.paginate("/rest/v1.0/companies", company_id=company_id, model=Company)

    def projects(self, company_id: int, *, status: str = "Active",
                 **filters: object) -> Iterator[Project]:
        """Projects visible to the user. ``status``: Active | Inactive | All."""
        params = {"company_id": company_id, "filters[by_status]": status}
        params.update({f"filters[{k}]": v for k, v in filters.items()})
        return self.paginate("/rest/v1.0/projects", company_id=company_id, params=params,
                             model=Project)

    def project(self, company_id: int, project_id: int) -> Project:
        return Project.from_api(self.request(
            "GET", f"/rest/v1.0/projects/{int(project_id)}", company_id=company_id,
            params={"company_id": company_id}))

    def permissions(self, company_id: int, project_id: int | None = None) -> PermissionManifest:
        """The current user's tool permissions for a project, or the company when
        ``project_id`` is None (e.g. ``.is_admin("directory")``, SPEC R1)."""
        params = {"project_id": project_id} if project_id is not None else {
            "company_id": company_id}
        return PermissionManifest.from_api(self.request(
            "GET", "/rest/v1.0/settings/permissions", company_id=company_id, params=params))
