"""The Acme ticket tracker as a kradle-providers plugin (the plugin-author guide's example)."""
