"""GitLab (gitlab.com and self-managed) for kradle-providers."""
