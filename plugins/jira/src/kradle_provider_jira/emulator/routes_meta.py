"""Server, user, project, version, field and label endpoints.

- ``GET /rest/api/{v}/serverInfo`` (anonymous allowed; ``deploymentType`` is
  ``Cloud`` or ``Server`` as Data Center reports it);
- ``GET /rest/api/{v}/myself``, ``GET /rest/api/{v}/field``;
- ``GET /rest/api/{v}/project/{project}``;
- ``GET /rest/api/{v}/project/{project}/versions`` (the full array) and, on
  Cloud, ``GET /rest/api/{v}/project/{project}/version`` (paginated);
  ``GET/POST /rest/api/{v}/version``;
- labels: ``GET /rest/api/{v}/label`` (Cloud, paginated) and
  ``GET /rest/api/1.0/labels/suggest?query=`` (Data Center).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kradle_provider_jira.emulator.state import Project, StateError
from kradle_provider_jira.emulator.views import FIELD_NAMES
from kradle_providers.testing.emulator import EmulatorHTTPError, RequestContext, StartAtPagination

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["register"]

JsonDict = dict[str, Any]

CLOUD_VERSION = ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100279)
DC_VERSION = ("9.12.15", [9, 12, 15], 9120015)


def register(emu: JiraEmulator) -> None:
    """Add the routes to ``emu``."""

    def project_or_404(ctx: RequestContext) -> Project:
        ref = str(ctx.params["project"])
        project = emu.state.project(ref)
        if project is None:
            raise EmulatorHTTPError(404, f"No project could be found with key '{ref}'.")
        return project

    @emu.get("/rest/api/{v}/serverInfo", name="getServerInfo")
    async def server_info(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        base = str(ctx.request.base_url).rstrip("/")
        version, numbers, build = CLOUD_VERSION if emu.cloud else DC_VERSION
        info: JsonDict = {
            "baseUrl": base,
            "displayUrl": base,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if emu.cloud else "Server",
            "buildNumber": build,
            "buildDate": "2024-11-05T00:00:00.000+0000",
            "serverTime": emu.jira_now(),
            "scmInfo": "5c4e0b4e3a8a2b7e9f4b0a8d7c6e5f4a3b2c1d0e",
            "serverTitle": "Jira",
        }
        if emu.cloud:
            info["serverTimeZone"] = "Etc/UTC"
        else:
            info["databaseBuildNumber"] = build
            info["defaultLocale"] = {"locale": "en_US"}
        return info

    @emu.get("/rest/api/{v}/myself", name="getCurrentUser")
    async def myself(ctx: RequestContext) -> Any:
        return emu.views(ctx).user(emu.actor(ctx), full=True)

    @emu.get("/rest/api/{v}/field", name="getFields")
    async def fields(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        out = []
        for field_id, name in FIELD_NAMES.items():
            out.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": name,
                    "custom": False,
                    "orderable": field_id not in ("created", "updated", "status"),
                    "navigable": field_id != "comment",
                    "searchable": True,
                    "clauseNames": [field_id],
                }
            )
        return out

    @emu.get("/rest/api/{v}/project/{project}", name="getProject")
    async def get_project(ctx: RequestContext) -> Any:
        return emu.views(ctx).project(project_or_404(ctx))

    @emu.get("/rest/api/{v}/project/{project}/versions", name="getProjectVersions")
    async def project_versions(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        project = project_or_404(ctx)
        return [views.version(v) for v in emu.state.project_versions(project.id)]

    @emu.get("/rest/api/{v}/project/{project}/version", name="getProjectVersionsPaginated")
    async def project_versions_paged(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        if not emu.cloud:
            raise EmulatorHTTPError(404, "Not Found")
        project = project_or_404(ctx)
        items = [views.version(v) for v in emu.state.project_versions(project.id)]
        style = StartAtPagination(default_max_results=50, max_results=50)
        page = style.paginate(items, ctx.url, ctx.query)
        body: JsonDict = {"self": ctx.url, **page.fields, "values": page.items}
        if not page.fields["isLast"]:
            start = page.fields["startAt"] + len(page.items)
            body["nextPage"] = views.url(
                f"project/{project.key}/version?startAt={start}&maxResults={page.fields['maxResults']}"
            )
        return body

    @emu.get("/rest/api/{v}/version/{version}", name="getVersion")
    async def get_version(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        version = emu.state.versions.get(str(ctx.params["version"]))
        if version is None:
            raise EmulatorHTTPError(404, f"Could not find version for id '{ctx.params['version']}'")
        return views.version(version)

    @emu.post("/rest/api/{v}/version", name="createVersion")
    async def create_version(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        data = emu.body_dict(ctx)
        ref = data.get("projectId") or data.get("project")
        project = emu.state.project(str(ref)) if ref is not None else None
        if project is None:
            raise EmulatorHTTPError(
                400, "", errorMessages=[], errors={"project": "Project must be specified."}
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise EmulatorHTTPError(
                400, "", errorMessages=[], errors={"name": "You must specify a valid version name"}
            )
        try:
            version = emu.state.create_version(
                project,
                name.strip(),
                description=str(data.get("description") or ""),
                released=bool(data.get("released", False)),
                release_date=data.get("releaseDate"),
                archived=bool(data.get("archived", False)),
            )
        except StateError as exc:
            raise emu.state_error(exc) from None
        return ctx.json(views.version(version), status=201)

    @emu.get("/rest/api/{v}/label", name="getAllLabels")
    async def labels(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        if not emu.cloud:
            raise EmulatorHTTPError(404, "Not Found")
        items = emu.state.labels()
        style = StartAtPagination(default_max_results=1000, max_results=1000)
        page = style.paginate(items, ctx.url, ctx.query)
        body: JsonDict = {"self": ctx.url, **page.fields, "values": page.items}
        if not page.fields["isLast"]:
            start = page.fields["startAt"] + len(page.items)
            body["nextPage"] = views.url(
                f"label?startAt={start}&maxResults={page.fields['maxResults']}"
            )
        return body

    @emu.get("/rest/api/1.0/labels/suggest", name="suggestLabels")
    async def suggest_labels(ctx: RequestContext) -> Any:
        if emu.cloud:
            raise EmulatorHTTPError(404, "Not Found")
        query = ctx.query.get("query", "")
        found = [label for label in emu.state.labels() if label.lower().startswith(query.lower())]
        return {
            "token": query,
            "suggestions": [
                {"label": label, "html": f"<b>{label[: len(query)]}</b>{label[len(query) :]}"}
                for label in found
            ],
        }
