"""The end-to-end demo, written as a host would write it (``python -m kradle_sync_demo``).

It reaches every provider through the plugin registry (emulators included),
so it runs with whatever GitHub and Jira plugins are installed.
"""

from kradle_sync_demo.demo import BINDING_RESOURCE, binding_text, main, run_demo, run_tour

__all__ = ["BINDING_RESOURCE", "binding_text", "main", "run_demo", "run_tour"]
