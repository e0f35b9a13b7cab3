"""Database models. Import from here: `from portal.models import User, Company`."""
from portal.models.tenancy import Company, Role, User

__all__ = ["Company", "Role", "User"]
