"""CiCd on Buildkite: pipelines, builds, jobs, logs, artifacts, agents, agent tokens.

Builds are addressed by number within a pipeline (``GET .../builds/{number}``);
Buildkite has no read by build UUID. Every build and job the adapter reads is
remembered (UUID -> pipeline and number, bounded), so the UUIDs a host keeps
(``external.native_id``, which the sync engine passes to ``list_jobs``) work
too; an unknown UUID is looked up in the scope's builds, newest first.

``list_pipelines(since=...)`` lists the builds finished since, then those
created since (Buildkite filters builds by ``finished_from`` and
``created_from``, not by change time): a build created earlier that started
but has not finished is seen through its ``build.running`` webhook or
:meth:`get_pipeline`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kradle_provider_buildkite import mapping
from kradle_provider_buildkite.adapter.client import BuildkiteBase, org_path, pipeline_path
from kradle_providers.errors import InvalidInput, KradleError, NotFound
from kradle_providers.models import (
    Artifact,
    ExternalRef,
    Job,
    Pipeline,
    PipelineDefinition,
    Runner,
    RunnerRegistration,
)
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["CiCdOperations"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: How many build/job locations the adapter remembers.
_REMEMBERED = 20_000
#: Agent tokens made by register_runner expire after this long.
TOKEN_LIFETIME = timedelta(hours=1)
_FAILED_JOB_STATES = frozenset({"failed", "timed_out", "expired"})


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CiCdOperations(BuildkiteBase):
    """The CiCd operations over Buildkite's REST API v2."""

    def __init__(self, config: ProviderConfig | None = None) -> None:
        super().__init__(config)
        # Build and job UUID -> API path of their build (most recently seen last).
        self._places: OrderedDict[str, str] = OrderedDict()
        # Build UUID -> the build as last listed: its jobs come inline, so the
        # list_jobs that follows a listing (a backfill hydrating the page) is
        # answered without reading the build again. Taken once.
        self._listed: OrderedDict[str, Mapping[str, Any]] = OrderedDict()

    def _remember(self, native: Any, path: str | None = None) -> None:
        """Note where a build (and its inline jobs) lives: UUID -> (build path)."""
        if not isinstance(native, Mapping):
            return
        url, number = native.get("url"), native.get("number")
        build_path = path
        if build_path is None and isinstance(url, str) and url.startswith(self.rest_url):
            build_path = url[len(self.rest_url) :]
        if build_path is None or not isinstance(number, int):
            return
        places = self._places
        for key in [native.get("id")] + [
            j.get("id") for j in native.get("jobs") or [] if isinstance(j, Mapping)
        ]:
            if isinstance(key, str):
                places[key] = build_path
                places.move_to_end(key)
        while len(places) > _REMEMBERED:
            places.popitem(last=False)

    def _build_native(self, native: Any) -> Pipeline:
        self._remember(native)
        return mapping.build(native, provider=self.provider_ref)

    def _listed_build(self, native: Any) -> Pipeline:
        build = self._build_native(native)
        uuid = native.get("id") if isinstance(native, Mapping) else None
        if isinstance(uuid, str) and isinstance(native.get("jobs"), list):
            self._listed[uuid] = native
            self._listed.move_to_end(uuid)
            while len(self._listed) > _REMEMBERED:
                self._listed.popitem(last=False)
        return build

    async def _locate(self, ref: ExternalRef, ident: str, what: str) -> str:
        """The API path of the build a build number or build/job UUID names."""
        text = str(ident).strip()
        if text.isdigit():
            return f"{pipeline_path(ref)}/builds/{text}"
        if not _UUID.match(text):
            raise InvalidInput(
                f"{what} must be a Buildkite build number or UUID, got {ident!r}", field=what
            )
        if text in self._places:
            return self._places[text]
        cursor: str | None = None
        listing = f"{pipeline_path(ref)}/builds" if ref.pipeline else f"{org_path(ref)}/builds"
        while True:
            page, _ = await self._list_page(
                listing,
                {"include_retried_jobs": "true"},
                cursor=cursor,
                page_size=None,
                convert=self._build_native,
            )
            if text in self._places:
                return self._places[text]
            if page.next_cursor is None:
                raise NotFound(
                    f"no Buildkite build or job {text} in {ref.slug()}: check the id and the "
                    "scope's organization and pipeline",
                    provider="buildkite",
                    status=404,
                )
            cursor = page.next_cursor

    async def _slug(self, ref: ExternalRef, ident: str) -> str:
        """A pipeline's slug from its slug or UUID (a UUID is looked up in the organization)."""
        if not _UUID.match(ident):
            return ident
        cursor: str | None = None
        while True:
            page = await self.list_pipeline_definitions(ref, cursor=cursor)
            for definition in page.items:
                if definition.external.native_id == ident and definition.path:
                    return definition.path
            if page.next_cursor is None:
                raise NotFound(
                    f"no Buildkite pipeline {ident} in organization {ref.owner!r}",
                    provider="buildkite",
                    status=404,
                )
            cursor = page.next_cursor

    # -- pipelines and builds --------------------------------------------------

    async def list_pipeline_definitions(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[PipelineDefinition]:
        """The organization's pipelines, with their steps."""
        page, _ = await self._list_page(
            f"{org_path(ref)}/pipelines",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.pipeline(native, provider=self.provider_ref),
        )
        return page

    async def list_pipelines(
        self,
        ref: ExternalRef,
        *,
        definition_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Pipeline]:
        """Builds, newest first: of ``definition_id`` (pipeline slug or UUID), else the scope's."""
        if definition_id is not None:
            ref = ref.model_copy(update={"pipeline": await self._slug(ref, definition_id)})
        path = f"{pipeline_path(ref)}/builds" if ref.pipeline else f"{org_path(ref)}/builds"
        if since is None:
            page, _ = await self._list_page(
                path,
                {"include_retried_jobs": "true"},
                cursor=cursor,
                page_size=page_size,
                convert=self._listed_build,
                updated=lambda b: b.updated_at,
            )
            return page
        # Two listings: finished since, then created since (minus those already listed).
        phase, inner = "finished", None
        if cursor is not None:
            state = decode_cursor(cursor)
            phase, inner = str(state.get("phase")), state.get("inner")
            if phase not in ("finished", "created") or not (
                inner is None or isinstance(inner, str)
            ):
                raise InvalidInput(
                    "not a list_pipelines cursor; pass it back unchanged", field="cursor"
                )
        stamp = _iso(since)
        page, _ = await self._list_page(
            path,
            {f"{phase}_from": stamp, "include_retried_jobs": "true"},
            cursor=inner,
            page_size=page_size,
            convert=self._listed_build,
            updated=lambda b: b.updated_at,
        )
        items = page.items
        if phase == "created":
            items = [b for b in items if b.finished_at is None or b.finished_at < since]
        if page.next_cursor is not None:
            nxt: str | None = encode_cursor({"phase": phase, "inner": page.next_cursor})
        elif phase == "finished":
            nxt = encode_cursor({"phase": "created", "inner": None})
        else:
            nxt = None
        return Page(items=items, next_cursor=nxt, high_water_mark=page.high_water_mark)

    async def get_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """One build, by number (or UUID)."""
        native = (await self.http.get(await self._locate(ref, pipeline_id, "pipeline_id"))).json()
        return self._build_native(native)

    async def list_jobs(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Job]:
        """A build's jobs, retried ones included, in step order.

        Buildkite returns jobs inside the build, so pages are cut here: the
        cursor is the offset of the next job.
        """
        offset = 0
        if cursor is not None:
            value = decode_cursor(cursor).get("offset")
            if not isinstance(value, int) or value < 0:
                raise InvalidInput("not a list_jobs cursor; pass it back unchanged", field="cursor")
            offset = value
        path = await self._locate(ref, pipeline_id, "pipeline_id")
        listed = self._listed.pop(str(pipeline_id), None) if cursor is None else None
        if listed is not None:
            native: Any = listed
        else:
            response = await self.http.get(path, params={"include_retried_jobs": "true"})
            native = response.json()
        self._remember(native, path)
        jobs = native.get("jobs") if isinstance(native, Mapping) else None
        if not isinstance(jobs, list):
            raise InvalidInput(f"Buildkite returned no jobs list for {path}", field="pipeline_id")
        size = self._page_size(page_size)
        chunk = jobs[offset : offset + size]
        end = offset + len(chunk)
        skipped: list[KradleError] = []
        items = map_each(
            chunk,
            lambda j: mapping.job(j, provider=self.provider_ref, build=native),
            skipped=skipped,
            what=f"Buildkite job of {path}",
        )
        return Page(
            items=items,
            next_cursor=encode_cursor({"offset": end}) if end < len(jobs) else None,
            extra={SKIPPED: skipped},
        )

    def get_job_log(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        """The job's raw log, line by line as it downloads, with known secrets redacted.

        Nothing is requested until the iterator is first advanced.
        """
        return self._log_lines(ref, job_id)

    async def _log_lines(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        text = str(job_id).strip()
        if not _UUID.match(text):
            raise InvalidInput(
                f"job_id must be a Buildkite job UUID, got {job_id!r}", field="job_id"
            )
        build = await self._locate(ref, text, "job_id")
        headers = {"Accept": "text/plain"}
        async with self.http.stream("GET", f"{build}/jobs/{text}/log", headers=headers) as response:
            # Whole lines, so a secret is never split across chunks; redacted by the transport.
            async for line in response.aiter_lines(redacted=True):
                yield line + "\n"

    async def list_artifacts(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Artifact]:
        """A build's artifacts (their ``download_url`` answers a redirect to the file)."""
        path = await self._locate(ref, pipeline_id, "pipeline_id")
        number = path.rsplit("/", 1)[-1]
        owner = {"number": int(number), "url": self.rest_url + path}
        if _UUID.match(str(pipeline_id)):
            owner["id"] = str(pipeline_id)
        page, _ = await self._list_page(
            f"{path}/artifacts",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.artifact(
                native, provider=self.provider_ref, build=owner
            ),
        )
        return page

    async def rerun_pipeline(
        self, ref: ExternalRef, pipeline_id: str, *, failed_only: bool = False
    ) -> Pipeline:
        """Rebuild (a new build, returned); ``failed_only`` retries the failed jobs in place."""
        path = await self._locate(ref, pipeline_id, "pipeline_id")
        if not failed_only:
            return self._build_native((await self.http.put(f"{path}/rebuild")).json())
        build = (await self.http.get(path, conditional=False)).json()
        for job in build.get("jobs") or []:
            if job.get("type") == "script" and job.get("state") in _FAILED_JOB_STATES:
                await self.http.put(f"{path}/jobs/{job['id']}/retry")
        return self._build_native((await self.http.get(path, conditional=False)).json())

    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """Cancel a build; returns it as it is now (``canceling`` or ``canceled``)."""
        path = await self._locate(ref, pipeline_id, "pipeline_id")
        return self._build_native((await self.http.put(f"{path}/cancel")).json())

    async def unblock_job(
        self, ref: ExternalRef, job_id: str, *, fields: Mapping[str, str] | None = None
    ) -> Job:
        """Unblock a block (``manual``) job with its form ``fields``.

        Not part of the CI/CD protocol (it has no operation for block steps).
        """
        text = str(job_id).strip()
        path = await self._locate(ref, text, "job_id")
        body: dict[str, Any] = {"fields": dict(fields or {})}
        native = (await self.http.put(f"{path}/jobs/{text}/unblock", json=body)).json()
        return mapping.job(native, provider=self.provider_ref)

    # -- agents -------------------------------------------------------------

    async def list_runners(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Runner]:
        """The organization's agents."""
        page, _ = await self._list_page(
            f"{org_path(ref)}/agents",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.agent(native, provider=self.provider_ref),
        )
        return page

    async def register_runner(self, ref: ExternalRef) -> RunnerRegistration:
        """A new one-hour cluster agent token, as a Secret; never stored or logged."""
        cluster = self.options.cluster
        if cluster is None:
            clusters = (await self.http.get(f"{org_path(ref)}/clusters")).json()
            if not clusters:
                raise NotFound(
                    f"organization {ref.owner!r} has no cluster to register agents in; "
                    "create one or pass the `cluster` option",
                    provider="buildkite",
                    status=404,
                )
            cluster = str(clusters[0]["id"])
        expires = datetime.now(UTC) + TOKEN_LIFETIME
        response = await self.http.post(
            f"{org_path(ref)}/clusters/{cluster}/tokens",
            json={
                "description": f"kradle agent registration {_iso(datetime.now(UTC))}",
                "expires_at": _iso(expires),
            },
        )
        return mapping.cluster_token(response.json(), provider=self.provider_ref)
