"""Helpers shared by the board's features: markdown, permissions, redirects, paging."""
