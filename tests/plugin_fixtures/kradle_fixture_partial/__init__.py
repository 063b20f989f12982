"""A plugin whose manifest promises more than its code delivers."""

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin


@hookimpl
def kradle_register_providers(register):
    register(
        ProviderPlugin(
            name="fixture-partial",
            manifest="kradle_fixture_partial:manifest.yaml",
            adapter="kradle_fixture_partial.adapter:build",
            normalizers="kradle_fixture_partial.adapter:NORMALIZERS",
        )
    )
