"""Procore HTTP client: OAuth, requests with retries and pacing, pagination,
typed payload models and safe downloads/uploads.

Imports neither Flask nor the portal's models: tokens come in and go out
through a ``Credential`` (see credentials.py), Redis is passed in.
"""
from .auth import ProcoreOAuth, TokenInfo
from .client import ProcoreClient
from .credentials import Credential, CredentialStoreError, InMemoryCredential
from .errors import (PaginationIncomplete, ProcoreAuthError, ProcoreBadResponse,
                     ProcoreDownloadExpired, ProcoreDownloadTooLarge, ProcoreError,
                     ProcoreNotFound, ProcorePermissionError, ProcoreRateLimited,
                     ProcoreRedirectRefused, ProcoreSizeMismatch, ProcoreUnavailable,
                     ProcoreUploadExpired, ProcoreValidationError)
from .models import (LEVELS, BulkTriggerResult, Company, Delivery, DocumentIndexItem, Drawing,
                     DrawingArea, DrawingDiscipline, DrawingRevision, DrawingSet, File,
                     FileVersion, Folder, Hook, Image, ImageCategory, Me, PermissionManifest,
                     Project, TokenPair, ToolPermission, Trigger, Upload, UploadSegment,
                     WebhookResource)
from .pagination import parse_link_header

__all__ = [
    "ProcoreClient", "ProcoreOAuth", "TokenInfo", "Credential", "CredentialStoreError",
    "InMemoryCredential",
    "parse_link_header",
    # errors
    "ProcoreError", "ProcoreAuthError", "ProcorePermissionError", "ProcoreNotFound",
    "ProcoreRateLimited", "ProcoreUnavailable", "ProcoreBadResponse", "ProcoreSizeMismatch",
    "ProcoreRedirectRefused", "ProcoreDownloadTooLarge", "ProcoreDownloadExpired",
    "ProcoreUploadExpired", "ProcoreValidationError", "PaginationIncomplete",
    # models
    "LEVELS", "Company", "Me", "Project", "ToolPermission", "PermissionManifest", "Folder",
    "File", "FileVersion", "DocumentIndexItem", "ImageCategory", "Image", "DrawingArea",
    "DrawingDiscipline", "DrawingSet", "Drawing", "DrawingRevision", "Hook", "Trigger",
    "Delivery", "BulkTriggerResult", "WebhookResource", "Upload", "UploadSegment", "TokenPair",
]
