"""Database models. Import from here: `from portal.models import User, Company`."""
from portal.models.procore import AccountStatus, ProcoreAccount, ProjectCredential
from portal.models.tenancy import Company, Role, User

__all__ = ["AccountStatus", "Company", "ProcoreAccount", "ProjectCredential", "Role", "User"]
