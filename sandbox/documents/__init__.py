"""Sandbox Documents tool: folders, files, versions, the documents index and their seed."""
