"""Buildkite for kradle-providers (CI/CD only)."""
