"""Entry-point module: light, names everything by import string."""

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin


@hookimpl
def kradle_register_providers(register):
    register(
        ProviderPlugin(
            name="fixture-good",
            manifest="kradle_fixture_good:manifest.yaml",
            adapter="kradle_fixture_good.adapter:FixtureAdapter.from_config",
            normalizers="kradle_fixture_good.events:NORMALIZERS",
            emulator="kradle_fixture_good.emulator:create_app",
        )
    )
