from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin


@hookimpl
def kradle_register_providers(register):
    register(
        ProviderPlugin(
            name="fixture-badmanifest",
            manifest="kradle_fixture_badmanifest:manifest.yaml",
            adapter="kradle_fixture_badmanifest.adapter:Adapter",
        )
    )
