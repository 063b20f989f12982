"""GitHub provider for kradle-providers."""
