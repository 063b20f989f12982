"""A scripted Jira (httpx.MockTransport) that follows Atlassian's REST documentation.

Used by the adapter tests where they need exact control (timestamps within one
minute, lost responses at a chosen request, 429s): Cloud REST v3 (ADF, enhanced
search with ``nextPageToken``) or Data Center REST v2 (wiki, ``startAt``).
JQL is the subset the adapter sends, compared as Jira does: ``updated`` at
minute precision. Holds no tests itself.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

TOKEN = "canary-tok-3f9a1c"
STATUSES = {
    "To Do": ("1", "new"),
    "In Progress": ("3", "indeterminate"),
    "Done": ("10001", "done"),
}
TRANSITIONS = {"11": "To Do", "21": "In Progress", "31": "Done"}


def stamp(moment: datetime) -> str:
    """Jira's timestamp form (``2024-01-02T10:15:30.123+0000``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )


@dataclass
class FakeIssue:
    id: int
    key: str
    summary: str
    created: datetime
    updated: datetime
    status: str = "To Do"
    description: Any = None
    labels: list[str] = field(default_factory=list)
    fix_versions: list[dict[str, Any]] = field(default_factory=list)
    resolution: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]


class FakeJira:
    """A stateful Jira of one flavour behind an httpx.MockTransport."""

    def __init__(self, flavor: str = "cloud", *, start: datetime | None = None) -> None:
        self.flavor = flavor
        self.v = "3" if flavor == "cloud" else "2"
        self.now = start or datetime(2024, 1, 2, 10, 15, 0, tzinfo=UTC)
        self.issues: dict[str, FakeIssue] = {}
        self.next_id = 10000
        self.next_comment = 20000
        self.next_history = 30000
        self.log: list[Seen] = []
        self.lose_next: set[str] = set()  # "POST /rest/api/3/issue": process, then drop the answer
        self.rate_limit_next = 0
        self.versions = [
            {"id": "100", "name": "1.0", "released": True, "releaseDate": "2024-01-01"},
            {"id": "101", "name": "1.1", "released": False},
            {"id": "102", "name": "2.0", "released": False},
        ]

    # -- control --------------------------------------------------------------

    def tick(self, ms: int = 1) -> datetime:
        self.now += timedelta(milliseconds=ms)
        return self.now

    def seed(self, summary: str = "seeded", **attrs: Any) -> str:
        self.next_id += 1
        key = f"WID-{self.next_id - 10000}"
        issue = FakeIssue(self.next_id, key, summary, self.now, self.now, **attrs)
        self.issues[key] = issue
        return key

    def change(self, key: str, summary: str) -> None:
        issue = self.issues[key]
        self._history(
            issue,
            [
                {
                    "field": "summary",
                    "fieldtype": "jira",
                    "fromString": issue.summary,
                    "toString": summary,
                }
            ],
        )
        issue.summary = summary
        issue.updated = self.now

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def requests(self, method: str | None = None, contains: str = "") -> list[Seen]:
        return [
            r for r in self.log if (method is None or r.method == method) and contains in r.path
        ]

    # -- rendering ------------------------------------------------------------

    def _status(self, name: str) -> dict[str, Any]:
        sid, cat = STATUSES[name]
        return {"id": sid, "name": name, "statusCategory": {"key": cat, "name": cat}}

    def render(self, issue: FakeIssue, props: str | None = None) -> dict[str, Any]:
        base = f"https://wid.atlassian.net/rest/api/{self.v}/issue/{issue.id}"
        out: dict[str, Any] = {
            "id": str(issue.id),
            "key": issue.key,
            "self": base,
            "fields": {
                "summary": issue.summary,
                "description": issue.description,
                "status": self._status(issue.status),
                "labels": list(issue.labels),
                "fixVersions": list(issue.fix_versions),
                "resolution": {"name": issue.resolution} if issue.resolution else None,
                "issuetype": {"name": "Task"},
                "created": stamp(issue.created),
                "updated": stamp(issue.updated),
            },
        }
        if props:
            out["properties"] = {k: v for k, v in issue.properties.items() if k == props}
        return out

    def _history(self, issue: FakeIssue, items: list[dict[str, Any]]) -> None:
        self.next_history += 1
        issue.histories.append(
            {
                "id": str(self.next_history),
                "author": {"accountId": "u1", "displayName": "U"},
                "created": stamp(self.now),
                "items": items,
            }
        )

    # -- JQL ------------------------------------------------------------------

    def search(self, jql: str) -> list[FakeIssue]:
        where, _, order = jql.partition(" ORDER BY ")
        found = list(self.issues.values())
        for clause in where.split(" AND "):
            clause = clause.strip()
            if m := re.fullmatch(r'project = "?(\w+)"?', clause):
                found = [i for i in found if i.key.startswith(m.group(1) + "-")]
            elif m := re.fullmatch(r'updated >= "(\d{4}-\d\d-\d\d \d\d:\d\d)"', clause):
                floor = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
                found = [i for i in found if i.updated.replace(second=0, microsecond=0) >= floor]
            elif clause == "statusCategory = Done":
                found = [i for i in found if i.status == "Done"]
            elif clause == "statusCategory != Done":
                found = [i for i in found if i.status != "Done"]
            elif m := re.fullmatch(r'issue\.property\[(\w+)\]\.idempotencyKey = "([^"]*)"', clause):
                found = [
                    i
                    for i in found
                    if (i.properties.get(m.group(1)) or {}).get("idempotencyKey") == m.group(2)
                ]
            else:
                raise ValueError(f"unsupported JQL clause {clause!r}")
        if order.startswith("created DESC"):
            found.sort(key=lambda i: (i.created, i.id), reverse=True)
        elif order:
            found.sort(key=lambda i: (i.updated, i.id) if "updated" in order else i.id)
        return found

    # -- HTTP -----------------------------------------------------------------

    def _authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {TOKEN}":
            return self.flavor != "cloud"
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return password == TOKEN and bool(user)
        return False

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        params = dict(request.url.params)
        path = request.url.path
        self.log.append(Seen(request.method, path, params, body, dict(request.headers)))
        if not self._authorized(request):
            return httpx.Response(
                401,
                json={"errorMessages": ["You are not authenticated."], "errors": {}},
                headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
            )
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={"errorMessages": ["Rate limit exceeded."]},
            )
        response = self.route(request.method, path, params, body)
        signature = f"{request.method} {path}"
        if signature in self.lose_next:
            self.lose_next.discard(signature)
            raise httpx.ReadError("connection reset after the request was processed")
        return response

    def route(self, method: str, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        api = f"/rest/api/{self.v}"
        if path == "/rest/api/2/serverInfo":
            kind = "Cloud" if self.flavor == "cloud" else "DataCenter"
            return httpx.Response(200, json={"deploymentType": kind, "version": "9.12.0"})
        if not path.startswith(api + "/"):
            return httpx.Response(404, json={"errorMessages": ["Not found"], "errors": {}})
        rest = path[len(api) :]
        if rest == "/myself":
            return httpx.Response(200, json={"accountId": "u1", "timeZone": "UTC"})
        if rest in ("/search/jql", "/search") and method == "GET":
            return self._search(rest, params)
        if rest == "/issue" and method == "POST":
            return self._create(body)
        if rest == "/label":
            labels = sorted({x for i in self.issues.values() for x in i.labels})
            return self._offset(labels, params, "values")
        if rest == "/project/WID/version":
            return self._offset(self.versions, params, "values")
        if rest == "/project/WID/versions":
            return httpx.Response(200, json=self.versions)
        m = re.fullmatch(r"/issue/([\w-]+)(/.*)?", rest)
        if m is None:
            return httpx.Response(404, json={"errorMessages": ["Not found"], "errors": {}})
        issue = self.issues.get(m.group(1)) or next(
            (i for i in self.issues.values() if str(i.id) == m.group(1)), None
        )
        if issue is None:
            return httpx.Response(
                404,
                json={
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ],
                    "errors": {},
                },
            )
        return self._issue_route(method, m.group(2) or "", issue, params, body)

    def _offset(self, values: list[Any], params: dict[str, str], key: str) -> httpx.Response:
        start, size = int(params.get("startAt", 0)), int(params.get("maxResults", 50))
        chunk = values[start : start + size]
        return httpx.Response(
            200,
            json={
                "startAt": start,
                "maxResults": size,
                "total": len(values),
                "isLast": start + len(chunk) >= len(values),
                key: chunk,
            },
        )

    def _search(self, rest: str, params: dict[str, str]) -> httpx.Response:
        try:
            found = self.search(params["jql"])
        except ValueError as exc:
            return httpx.Response(400, json={"errorMessages": [str(exc)], "errors": {}})
        size = min(int(params.get("maxResults", 50)), 100)
        props = params.get("properties")
        if rest == "/search/jql":  # Cloud enhanced search: token paging
            start = int(params.get("nextPageToken", "0") or 0)
            chunk = found[start : start + size]
            page: dict[str, Any] = {"issues": [self.render(i, props) for i in chunk]}
            if start + size < len(found):
                page["nextPageToken"] = str(start + size)
                page["isLast"] = False
            else:
                page["isLast"] = True
            if params.get("expand") == "changelog":
                for out, i in zip(page["issues"], chunk, strict=True):
                    out["changelog"] = {"histories": i.histories}
            return httpx.Response(200, json=page)
        start = int(params.get("startAt", 0))
        chunk = found[start : start + size]
        issues = [self.render(i, props) for i in chunk]
        if params.get("expand") == "changelog":
            for out, i in zip(issues, chunk, strict=True):
                out["changelog"] = {"histories": i.histories}
        return httpx.Response(
            200,
            json={
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": issues,
            },
        )

    def _create(self, body: Any) -> httpx.Response:
        fields = body["fields"]
        key = self.seed(fields["summary"])
        issue = self.issues[key]
        issue.description = fields.get("description")
        issue.labels = list(fields.get("labels") or [])
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        return httpx.Response(
            201,
            json={
                "id": str(issue.id),
                "key": key,
                "self": f"https://wid.atlassian.net/x/{issue.id}",
            },
        )

    def _issue_route(
        self, method: str, sub: str, issue: FakeIssue, params: dict[str, str], body: Any
    ) -> httpx.Response:
        if sub == "" and method == "GET":
            out = self.render(issue)
            if params.get("expand") == "changelog":
                out["changelog"] = {
                    "startAt": 0,
                    "maxResults": len(issue.histories),
                    "total": len(issue.histories),
                    "histories": issue.histories,
                }
            return httpx.Response(200, json=out)
        if sub == "" and method == "PUT":
            fields = body.get("fields", {})
            if "status" in fields:
                return httpx.Response(
                    400,
                    json={
                        "errorMessages": [],
                        "errors": {
                            "status": "Field 'status' cannot be set. It is not on the appropriate "
                            "screen, or unknown."
                        },
                    },
                )
            if "summary" in fields:
                self.change(issue.key, fields["summary"])
            if "labels" in fields:
                issue.labels = list(fields["labels"])
            if "description" in fields:
                issue.description = fields["description"]
            issue.updated = self.tick()
            return httpx.Response(204)
        if sub.startswith("/properties/") and method == "PUT":
            issue.properties[sub.removeprefix("/properties/")] = body
            return httpx.Response(200)
        if sub == "/transitions" and method == "GET":
            return httpx.Response(
                200,
                json={
                    "transitions": [
                        {
                            "id": tid,
                            "name": name,
                            "to": self._status(name),
                            "fields": {"resolution": {"required": False}} if name == "Done" else {},
                        }
                        for tid, name in TRANSITIONS.items()
                        if name != issue.status
                    ]
                },
            )
        if sub == "/transitions" and method == "POST":
            target = TRANSITIONS.get(body["transition"]["id"])
            if target is None or target == issue.status:
                return httpx.Response(
                    400,
                    json={
                        "errorMessages": [
                            "Transition id '"
                            + body["transition"]["id"]
                            + "' is not valid for this issue."
                        ],
                        "errors": {},
                    },
                )
            self._history(
                issue,
                [
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "fromString": issue.status,
                        "toString": target,
                    }
                ],
            )
            issue.status = target
            resolution = ((body.get("fields") or {}).get("resolution") or {}).get("name")
            issue.resolution = (resolution or "Done") if target == "Done" else None
            issue.updated = self.tick()
            return httpx.Response(204)
        if sub == "/changelog" and method == "GET" and self.flavor == "cloud":
            return self._offset(issue.histories, params, "values")
        if sub == "/comment" and method == "GET":
            comments = list(issue.comments)
            if params.get("orderBy") == "-created":
                comments.reverse()
            if params.get("expand") != "properties":
                comments = [{k: v for k, v in c.items() if k != "properties"} for c in comments]
            return self._offset(comments, params, "comments")
        if sub == "/comment" and method == "POST":
            self.next_comment += 1
            comment = {
                "id": str(self.next_comment),
                "self": f"https://wid.atlassian.net/rest/api/{self.v}/issue/{issue.id}/comment/"
                f"{self.next_comment}",
                "body": body["body"],
                "author": {"accountId": "u1"},
                "created": stamp(self.tick()),
                "updated": stamp(self.now),
                "properties": body.get("properties") or [],
            }
            issue.comments.append(comment)
            issue.updated = self.now
            return httpx.Response(201, json={k: v for k, v in comment.items() if k != "properties"})
        if m := re.fullmatch(r"/comment/(\d+)", sub):
            comment = next((c for c in issue.comments if c["id"] == m.group(1)), None)
            if comment is None:
                return httpx.Response(404, json={"errorMessages": ["no comment"], "errors": {}})
            comment["body"] = body["body"]
            comment["updated"] = stamp(self.tick())
            return httpx.Response(200, json={k: v for k, v in comment.items() if k != "properties"})
        return httpx.Response(404, json={"errorMessages": [f"no route {method} {sub}"]})
