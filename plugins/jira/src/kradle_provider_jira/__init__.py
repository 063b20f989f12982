"""Jira Cloud and Data Center provider for kradle-providers."""
