"""A fixture adapter whose operations record their calls (and implement more than declared)."""

from kradle_providers.protocols import Page, ProviderAdapter


class FixtureAdapter(ProviderAdapter):
    provider_type = "fixture-good"

    def __init__(self, *, instance="default", options=None):
        super().__init__(instance=instance)
        self.calls = []
        self.options = dict(options or {})
        self.closed = False

    @classmethod
    def from_config(cls, config):
        return cls(instance=config.instance, options=config.options)

    def greeting(self):
        return f"hello from {self.instance}"

    async def list_issues(self, ref, **kwargs):
        self.calls.append(("list_issues", ref, kwargs))
        return Page(items=["issue-1"])

    async def list_comments(self, ref, **kwargs):
        self.calls.append(("list_comments", ref, kwargs))
        return Page(items=[])

    async def create_issue(self, ref, data, *, idempotency_key=None):
        self.calls.append(("create_issue", ref, data, idempotency_key))
        return {"created": data}

    async def close_issue(self, ref, issue_id, *, reason=None):
        # Implemented, but the manifest declares it unsupported: the guard must stop it.
        self.calls.append(("close_issue", ref, issue_id))
        return {"closed": issue_id}

    async def list_pipelines(self, ref, **kwargs):
        self.calls.append(("list_pipelines", ref, kwargs))
        return Page(items=[])

    async def list_jobs(self, ref, pipeline_id, **kwargs):
        self.calls.append(("list_jobs", ref, pipeline_id))
        return Page(items=[])

    def get_job_log(self, ref, job_id):
        self.calls.append(("get_job_log", ref, job_id))

        async def chunks():
            yield f"log of {job_id} line 1\n"
            yield "line 2\n"

        return chunks()

    async def list_pull_requests(self, ref, **kwargs):
        # Implemented, but gitForge is unsupported in the manifest.
        self.calls.append(("list_pull_requests", ref, kwargs))
        return Page(items=[])

    async def aclose(self):
        self.closed = True
