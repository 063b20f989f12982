"""Fixtures shared by the core tests."""

from tests.postgres_support import pg_schema

__all__ = ["pg_schema"]
