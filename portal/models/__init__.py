"""Database models. Import from here: `from portal.models import User, Company`."""
from portal.models.alerts import Alert
from portal.models.audit import AuditEntry
from portal.models.cbox import (CboxBlob, CboxFile, CboxFileVersion, CboxFolder, CboxFolderEditor,
                                 CboxProject, CboxTrashEntry)
from portal.models.integrations import (BatchStatus, Integration, IntegrationStatus, ItemStatus, RunStatus, SyncBatch,
                                        SyncItem, SyncRun)
from portal.models.periodic import PeriodicJobRun
from portal.models.procore import AccountStatus, ProcoreAccount, ProjectCredential
from portal.models.tenancy import Company, Role, User
from portal.models.webhooks import EventStatus, HookCheck, WebhookEvent, WebhookSecret

__all__ = ["AccountStatus", "Alert", "AuditEntry", "CboxBlob", "CboxFile", "CboxFileVersion", "CboxFolder",
           "CboxTrashEntry",
           "CboxFolderEditor", "CboxProject", "Company", "ProcoreAccount", "ProjectCredential", "Role", "User",
           "EventStatus", "HookCheck", "WebhookEvent", "WebhookSecret",
           "Integration", "IntegrationStatus", "SyncBatch", "BatchStatus", "SyncItem", "ItemStatus", "SyncRun",
           "RunStatus", "PeriodicJobRun"]
