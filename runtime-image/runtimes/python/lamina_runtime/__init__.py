"""Lamina's Lambda runtime interface client for Python (stdlib only)."""
