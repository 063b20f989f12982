from __future__ import annotations

from kradle_providers.protocols import Page, ProviderAdapter


class PartialAdapter(ProviderAdapter):
    provider_type = "fixture-partial"

    async def list_pull_requests(self, ref, **kwargs):
        return Page(items=[])


def build(config) -> PartialAdapter:
    return PartialAdapter(instance=config.instance)


NORMALIZERS = {"pull_request": lambda context, payload: None}
