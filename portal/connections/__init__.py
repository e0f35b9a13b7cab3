"""Procore accounts in the portal: encrypted tokens, the OAuth connect flow, credentials (R33, R34)."""
